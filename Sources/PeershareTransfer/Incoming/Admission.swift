import Foundation
import NIOConcurrencyHelpers

/// The limits every incoming session shares: the unauthenticated-connection slots and the
/// failed-pairing limiter. Each is guarded by its own lock; no call holds both.
package final class Admission: Sendable {
    private let limiter = NIOLockedValueBox(FailureLimiter())
    private let handshaking = NIOLockedValueBox(HandshakeSlots())
    private let capacity: Int

    /// `capacity`: connections that may be in the handshake at once.
    package init(capacity: Int) {
        self.capacity = capacity
    }

    /// Seconds until pairing from these sources is allowed again, or nil.
    package func pairingBlocked(sources: [String]) -> TimeInterval? {
        limiter.withLockedValue { $0.blockedFor(sources: sources) }
    }

    package func recordPairingFailure(sources: [String]) {
        limiter.withLockedValue { $0.recordFailure(sources: sources) }
    }

    /// Takes one of the unauthenticated-connection slots for `channel`. When all are taken,
    /// the oldest connection that has not yet shown it is a real peer (a pinned key in KNOWN
    /// mode, or a complete M3 with its offer in PAIR mode) is closed to make room: an honest
    /// peer gets there within milliseconds, so a flood of silent or half-done connections
    /// cannot lock honest peers out, and offers waiting for a person are capped on their own.
    /// Nil when every slot belongs to such a peer.
    package func enterHandshake(_ timer: ConnectionTimer) -> UInt64? {
        let capacity = capacity
        let (slot, evicted) = handshaking.withLockedValue { $0.enter(timer, capacity: capacity) }
        evicted?.close(because: "This side closed the connection to make room for a new one: all \(capacity) handshake slots were taken, and this was the oldest connection that had not yet shown it is a real peer.")
        return slot
    }

    /// The connection in `slot` showed it is a real peer: it can no longer be evicted.
    package func handshakeStarted(_ slot: UInt64) { handshaking.withLockedValue { $0.started(slot) } }

    package func leaveHandshake(_ slot: UInt64) { handshaking.withLockedValue { $0.leave(slot) } }
}
