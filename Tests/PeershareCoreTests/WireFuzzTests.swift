import Testing
@testable import PeershareCore

/// Deterministic random inputs: the decoder must return or throw, never trap, and every
/// accepted input must be the canonical encoding of what it decoded to.
@Suite("Wire fuzz")
struct WireFuzzTests {
    @Test("20,000 random messages decode without crashing")
    func randomBytes() throws {
        var rng = SplitMix64(seed: 0x5EED)
        var accepted = 0
        for _ in 0..<20_000 {
            let length = Int(rng.next() % 48)
            var bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            // Mostly valid type bytes, to get past the first check.
            if !bytes.isEmpty, rng.next() % 8 != 0 { bytes[0] = UInt8(1 + rng.next() % 9) }
            if let message = try? StreamMessage.decode(bytes) {
                accepted += 1
                #expect(message.encode() == bytes)
            }
        }
        #expect(accepted > 0)
    }

    @Test("20,000 mutations of valid messages decode without crashing")
    func mutations() throws {
        var rng = SplitMix64(seed: 42)
        let samples = try WireSamples.messages().map { $0.encode() }.filter { $0.count < 10_000 }
        for _ in 0..<20_000 {
            var bytes = samples[Int(rng.next() % UInt64(samples.count))]
            for _ in 0...(rng.next() % 3) {
                switch rng.next() % 3 {
                case 0 where !bytes.isEmpty:
                    bytes[Int(rng.next() % UInt64(bytes.count))] ^= UInt8(truncatingIfNeeded: 1 << (rng.next() % 8))
                case 1 where !bytes.isEmpty:
                    bytes.removeLast(Int(rng.next() % UInt64(bytes.count)))
                default:
                    bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: Int(rng.next() % UInt64(bytes.count + 1)))
                }
            }
            if let message = try? StreamMessage.decode(bytes) {
                #expect(message.encode() == bytes)
            }
        }
    }
}
