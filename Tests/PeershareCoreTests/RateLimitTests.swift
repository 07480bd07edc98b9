import Testing
@testable import PeershareCore

/// The arithmetic of `--limit-rate`: the rate as people write it, and the token bucket that
/// says how long a sender waits (the waiting itself is tested through the real binary).
@Suite("Rate limit")
struct RateLimitTests {
    @Test("rates: bytes a second with k, M or G (1024-based) and a fraction; 0 is no limit", arguments: [
        ("0", UInt64(0)), ("1024", 1024), ("1k", 1024), ("500K", 512_000), ("10M", 10 << 20),
        ("1.5m", 1_572_864), ("2G", 2 << 30), ("1024g", 1 << 40),
    ])
    func parsesRates(text: String, bytes: UInt64) {
        #expect(ByteRate.parse(text) == bytes)
    }

    @Test("not rates: other suffixes, signs, spaces, several dots, below 1k, above 1 TiB/s",
          arguments: ["", "k", "10x", "-1M", "+1M", " 1M", "1 M", "1.5.2M", ".5M", "5.M", "1MB", "1023", "0.5k", "1025G",
                      "99999999999999999999999"])
    func refusesOthers(text: String) {
        #expect(ByteRate.parse(text) == nil, "accepted '\(text)'")
    }

    @Test("the bucket lets its burst go at once, then paces to the rate; waiting refills it")
    func paces() {
        var bucket = TokenBucket(bytesPerSecond: 1000, burst: 500)
        #expect(bucket.take(500, now: 0) == 0)
        #expect(bucket.take(1000, now: 0) == 1.0)
        // A second taker behind the first waits for both (the debt is shared).
        #expect(bucket.take(500, now: 0) == 1.5)
        // After the wait the debt is paid; a pause refills up to the burst, no more.
        #expect(bucket.take(0, now: 1.5) == 0)
        #expect(bucket.take(600, now: 100) == 0.1)
    }

    @Test("over 10 s of pieces, the bytes let through stay within 1% of the rate")
    func holdsTheRate() {
        let rate: UInt64 = 4 << 20
        var bucket = TokenBucket(bytesPerSecond: rate)
        let piece = bucket.pieceBytes
        var now = 0.0
        var sent = 0
        while now < 10 {
            now += bucket.take(piece, now: now)
            sent += piece
        }
        let measured = Double(sent) / now
        #expect(abs(measured / Double(rate) - 1) < 0.01, "\(measured) B/s for \(rate)")
        #expect(piece == Int(rate / 20))
    }
}
