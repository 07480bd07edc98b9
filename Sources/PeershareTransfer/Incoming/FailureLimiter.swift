import Foundation

/// Limits failed pairing attempts so that online guessing of the 6-digit code stays at a
/// handful of guesses a day: at most `perSource` failures per source (address or identity
/// key) and `overall` failures for the whole agent within `window`; past that, new pairing
/// attempts are refused until the oldest failure leaves the window.
struct FailureLimiter {
    var perSource = 3
    var overall = 10
    var window: TimeInterval = 600
    private var failures: [(time: Date, sources: [String])] = []

    init(perSource: Int = 3, overall: Int = 10, window: TimeInterval = 600) {
        self.perSource = perSource
        self.overall = overall
        self.window = window
    }

    mutating func recordFailure(sources: [String], now: Date = Date()) {
        prune(now)
        failures.append((now, sources))
    }

    /// Seconds until a pairing attempt from any of `sources` is allowed again (nil: allowed now).
    mutating func blockedFor(sources: [String], now: Date = Date()) -> TimeInterval? {
        prune(now)
        if failures.count >= overall, let oldest = failures.first {
            return window - now.timeIntervalSince(oldest.time)
        }
        for source in sources {
            let mine = failures.filter { $0.sources.contains(source) }
            if mine.count >= perSource, let oldest = mine.first {
                return window - now.timeIntervalSince(oldest.time)
            }
        }
        return nil
    }

    private mutating func prune(_ now: Date) {
        failures.removeAll { now.timeIntervalSince($0.time) >= window }
    }
}
