import PeershareCore

/// The receiver's minimum-progress rule: once a transfer streams (from ACCEPT), every window
/// of `window` seconds must bring at least `minimumBytes` bytes of stream frames (file data,
/// entries and holes as they cross the wire). Silence is the idle limit's business; this rule
/// catches a sender that keeps a transfer open by trickling tiny frames, which the idle limit
/// (it counts frames) never would.
///
/// Time this side spends waiting on its own disk does not count (`exclude`): a slow inbox
/// slows the sender down through TCP and must not be blamed on it. The check runs when a
/// frame arrives, so the FAILURE that names the rule can still be sent.
struct ProgressRule {
    let window: Double
    let minimumBytes: UInt64
    private var windowStart: ContinuousClock.Instant
    private var bytesAtStart: UInt64

    init(window: Double, minimumBytes: UInt64, start: ContinuousClock.Instant, bytesIn: UInt64) {
        self.window = window
        self.minimumBytes = minimumBytes
        windowStart = start
        bytesAtStart = bytesIn
    }

    /// Called with the connection's byte count after each frame: a window that ended with
    /// fewer than `minimumBytes` is an error; otherwise a new window starts.
    mutating func check(bytesIn: UInt64, now: ContinuousClock.Instant = .now) throws(AgentError) {
        guard (now - windowStart).inSeconds >= window else { return }
        let arrived = bytesIn &- bytesAtStart
        guard arrived >= minimumBytes else {
            let seconds = window == window.rounded() ? String(Int(window)) : String(window)
            throw AgentError(.unreachable, "The transfer was too slow: \(ByteCount.format(arrived)) arrived in \(seconds) s, under the minimum progress of \(ByteCount.format(minimumBytes)) per \(seconds) s (a trickle cannot hold a transfer open).")
        }
        windowStart = now
        bytesAtStart = bytesIn
    }

    /// Moves the window's start by time spent waiting on this side.
    mutating func exclude(_ duration: Duration) {
        windowStart = windowStart.advanced(by: duration)
    }
}

/// What the receiving loop counts while a transfer streams: the progress rule's state and
/// the file bytes that crossed the wire (DATA payload; holes and resumed bytes do not travel).
final class StreamCounters {
    var rule: ProgressRule
    var wireBytes: UInt64 = 0

    init(rule: ProgressRule) { self.rule = rule }
}
