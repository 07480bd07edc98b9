import NIOConcurrencyHelpers
import NIOCore

/// A deadline on a connection: when it fires, the channel is closed, which ends any read or
/// write that is waiting on it, and `closedReason` tells the session that this side closed
/// it and why (so a log never reads as if the peer had gone away).
///
/// Every pre-authentication step and every wait for the peer is armed with one, so a slow or
/// silent peer (slowloris) never holds a connection longer than the documented limits.
package final class ConnectionTimer: Sendable {
    private struct State {
        var scheduled: Scheduled<Void>?
        var reason: String?
    }

    private let channel: any Channel
    private let state = NIOLockedValueBox(State())

    init(channel: any Channel) { self.channel = channel }

    /// Closes the channel after `seconds` unless re-armed or disarmed first; `reason` says
    /// what was awaited ("waiting for the offer").
    func arm(seconds: Double, reason: String) {
        let channel = self.channel
        let shown = seconds == seconds.rounded() ? String(Int(seconds)) : String(format: "%.1f", seconds)
        let task = channel.eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) { [state] in
            state.withLockedValue { $0.reason = "Timed out after \(shown) s \(reason); this side closed the connection." }
            channel.close(promise: nil)
        }
        state.withLockedValue {
            $0.scheduled?.cancel()
            $0.scheduled = task
        }
    }

    func disarm() {
        state.withLockedValue {
            $0.scheduled?.cancel()
            $0.scheduled = nil
        }
    }

    /// Closes the channel now; `reason` (a sentence) is what the session reports.
    package func close(because reason: String) {
        state.withLockedValue {
            $0.scheduled?.cancel()
            $0.scheduled = nil
            $0.reason = reason
        }
        channel.close(promise: nil)
    }

    /// Why this side closed the connection (a deadline or `close(because:)`), if it did.
    var closedReason: String? { state.withLockedValue { $0.reason } }
}

/// Closes a connection that stays silent for longer than a limit while data should be
/// flowing (a cut network, a stalled peer). Receiving a frame only stores a timestamp, so
/// the hot path pays one atomic store; a check runs on the event loop once a second.
final class IdleWatch: Sendable {
    private let lastActivity = NIOLockedValueBox(NIODeadline.now())
    private let task = NIOLockedValueBox<RepeatedTask?>(nil)
    private let fired = NIOLockedValueBox(false)
    private let limit = NIOLockedValueBox<Int64>(0)

    /// The limit given to `start`, for messages.
    var seconds: Int64 { limit.withLockedValue { $0 } }

    /// Starts watching `channel`; it is closed after `seconds` without `touch()`.
    func start(channel: any Channel, seconds: Int64) {
        touch()
        limit.withLockedValue { $0 = seconds }
        let lastActivity = self.lastActivity
        let fired = self.fired
        let repeated = channel.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { task in
            let last = lastActivity.withLockedValue { $0 }
            if NIODeadline.now() - last > .seconds(seconds) {
                fired.withLockedValue { $0 = true }
                task.cancel()
                channel.close(promise: nil)
            }
        }
        task.withLockedValue { $0 = repeated }
    }

    func touch() { lastActivity.withLockedValue { $0 = .now() } }

    func stop() { task.withLockedValue { $0?.cancel(); $0 = nil } }

    var didFire: Bool { fired.withLockedValue { $0 } }
}
