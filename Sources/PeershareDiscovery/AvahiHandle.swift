// Pairs each Avahi object with the Swift context passed as its userdata. Shared by
// both back ends (libavahi-client and the embedded libavahi-core).

/// The userdata of every Avahi object a session creates: who to call back, and for
/// a resolver which record it resolves. Retained once per Avahi object
/// (`Unmanaged.passRetained`) and released only after that object is freed, under the
/// poll lock, so a callback can never see a dangling pointer.
final class CallbackContext<Session: AnyObject & Sendable>: Sendable {
    let session: Session
    let record: ResolverKey?

    init(session: Session, record: ResolverKey? = nil) {
        self.session = session
        self.record = record
    }

    /// Recovers the context inside a C callback without touching its retain count.
    static func from(_ userdata: UnsafeMutableRawPointer?) -> CallbackContext? {
        guard let userdata else { return nil }
        return Unmanaged<CallbackContext>.fromOpaque(userdata).takeUnretainedValue()
    }
}

/// An Avahi object (client, server, entry group, browser, resolver or timeout) and its
/// retained context.
struct AvahiHandle<Session: AnyObject & Sendable> {
    let pointer: OpaquePointer
    let context: Unmanaged<CallbackContext<Session>>

    /// Calls the object's `avahi_*_free` and only then releases the context.
    /// Must run with the poll lock held (or before the poll thread started).
    func free(_ freeFunction: (OpaquePointer) -> Void) {
        freeFunction(pointer)
        context.release()
    }
}

/// Identifies one browse result: the same instance on another interface or protocol
/// is another record with its own resolver.
struct ResolverKey: Hashable, Sendable {
    var interface: Int32
    var proto: Int32
    var name: String
    var domain: String

    /// AVAHI_PROTO_INET6 is 1 in both libraries' headers.
    var isIPv6: Bool { proto == 1 }
}

/// One browse result: its resolver while one runs, how many attempts in a row have
/// been made, whether it was ever resolved, and when to resolve it again.
struct ResolverSlot<Session: AnyObject & Sendable> {
    var handle: AvahiHandle<Session>?
    var attempts = 0
    var resolved = false
    var refreshDue: ContinuousClock.Instant?
}

/// When records are resolved (again), the same for both back ends.
enum ResolvePolicy {
    /// Failed resolves of a new record retried at once (each waits for Avahi's timeout).
    static let immediateAttempts = 3
    /// How long a resolved record is trusted before it is resolved again, plus up to
    /// `refreshJitterSeconds`, so that records resolved together are not refreshed together.
    static let refreshInterval: Duration = .seconds(300)
    static let refreshJitterSeconds = 120
    /// How often the refresh timer looks for records that are due.
    static let refreshTickMilliseconds: UInt32 = 30000

    static func nextRefresh() -> ContinuousClock.Instant {
        ContinuousClock.now + refreshInterval + .seconds(Int.random(in: 0...refreshJitterSeconds))
    }
}
