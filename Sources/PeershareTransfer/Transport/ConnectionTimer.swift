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
/// flowing (a cut network, a stalled peer). Receiving a frame only stores a timestamp under
/// the watch's lock (uncontended but for the once-a-second check on the event loop).
final class IdleWatch: Sendable {
    private struct State {
        var lastActivity = NIODeadline.now()
        var task: RepeatedTask?
        var fired = false
        var limit: Int64 = 0
    }

    private let state = NIOLockedValueBox(State())

    /// The limit given to `start`, for messages.
    var seconds: Int64 { state.withLockedValue { $0.limit } }

    /// Starts watching `channel`; it is closed after `seconds` without `touch()`.
    func start(channel: any Channel, seconds: Int64) {
        state.withLockedValue {
            $0.lastActivity = .now()
            $0.limit = seconds
        }
        let state = self.state
        let repeated = channel.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { task in
            let idle = state.withLockedValue { state in
                guard NIODeadline.now() - state.lastActivity > .seconds(seconds) else { return false }
                state.fired = true
                return true
            }
            if idle {
                task.cancel()
                channel.close(promise: nil)
            }
        }
        state.withLockedValue { $0.task = repeated }
    }

    func touch() { state.withLockedValue { $0.lastActivity = .now() } }

    func stop() {
        let task = state.withLockedValue { state in
            defer { state.task = nil }
            return state.task
        }
        task?.cancel()
    }

    var didFire: Bool { state.withLockedValue { $0.fired } }
}
