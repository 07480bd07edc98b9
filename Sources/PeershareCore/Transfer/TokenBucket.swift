import Synchronization

/// The arithmetic of a rate limit: on average `rate` bytes a second, with bursts of up to
/// `burst` bytes. It does no waiting itself: `take` answers how long the caller must wait
/// before the bytes may go, so that the rule can be tested without a clock.
///
/// The level may go below zero (a debt): bytes taken are never refused, only delayed, and a
/// second taker behind a first waits for both, which is how concurrent sends share one limit.
public struct TokenBucket: Sendable, Equatable {
    /// Bytes a second.
    public let rate: Double
    /// The most that may go at once after a pause, in bytes.
    public let burst: Double
    private var level: Double
    private var last: Double

    /// `burst` defaults to a tenth of a second at the rate (at least 16 KiB), small enough that
    /// a 10-second window stays within 1% of the rate, large enough not to wake up per packet.
    public init(bytesPerSecond: UInt64, burst: UInt64? = nil, now: Double = 0) {
        rate = Double(max(bytesPerSecond, 1))
        self.burst = Double(burst ?? max(bytesPerSecond / 10, 16 << 10))
        level = self.burst
        last = now
    }

    /// Takes `count` bytes at `now` (seconds on a monotonic clock) and returns the seconds to
    /// wait before sending them (0: at once).
    public mutating func take(_ count: Int, now: Double) -> Double {
        if now > last {
            level = min(burst, level + (now - last) * rate)
            last = now
        }
        level -= Double(count)
        return level >= 0 ? 0 : -level / rate
    }

    /// How many bytes one piece should hold at most, so that the pauses between pieces stay
    /// short (a twentieth of a second at the rate), whatever the rate.
    public var pieceBytes: Int { Int(min(max(rate / 20, 1024), Double(Int32.max))) }
}

/// One rate limit shared by the tasks sending under it (one transfer, or every send of the
/// agent for `limit_rate_total`).
public final class RateLimiter: Sendable {
    private let bucket: Mutex<TokenBucket>
    private let origin = ContinuousClock.now

    public init(bytesPerSecond: UInt64) {
        bucket = Mutex(TokenBucket(bytesPerSecond: bytesPerSecond))
    }

    /// Bytes a second.
    public var rate: Double { bucket.withLock { $0.rate } }

    /// See ``TokenBucket/pieceBytes``.
    public var pieceBytes: Int { bucket.withLock { $0.pieceBytes } }

    /// Accounts for `count` bytes sent now; returns how long to wait before sending more.
    public func delay(after count: Int) -> Duration {
        let now = (ContinuousClock.now - origin)
        let seconds = Double(now.components.seconds) + Double(now.components.attoseconds) * 1e-18
        let wait = bucket.withLock { $0.take(count, now: seconds) }
        return .nanoseconds(Int64(wait * 1e9))
    }
}
