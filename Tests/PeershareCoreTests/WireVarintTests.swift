import Testing
@testable import PeershareCore

/// LEB128 varints and zigzag: one encoding per value, no overflow, no overlong forms.
@Suite("Varints")
struct WireVarintTests {
    static func readVarint(_ bytes: [UInt8]) throws(WireError) -> UInt64 {
        try WireReader.read(bytes) { (r: inout WireReader) throws(WireError) -> UInt64 in
            let v = try r.readVarint(field: "v")
            try r.finish()
            return v
        }
    }

    static let values: [UInt64] = [0, 1, 127, 128, 255, 300, 16_383, 16_384, 1 << 32, 1 << 62, 1 << 63, UInt64.max]

    @Test("unsigned values round-trip in the shortest form", arguments: values)
    func roundTrip(value: UInt64) throws {
        var w = WireWriter()
        w.writeVarint(value)
        let expectedLength = value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
        #expect(w.bytes.count == expectedLength)
        #expect(try Self.readVarint(w.bytes) == value)
    }

    static let signed: [Int64] = [0, -1, 1, -64, 64, Int64.min, Int64.max, -1_700_000_000]

    @Test("signed values round-trip through zigzag", arguments: signed)
    func zigzag(value: Int64) throws {
        var w = WireWriter()
        w.writeZigzag(value)
        let decoded = try WireReader.read(w.bytes) { (r: inout WireReader) throws(WireError) -> Int64 in
            try r.readZigzag(field: "s")
        }
        #expect(decoded == value)
    }

    @Test("zigzag maps small magnitudes to small codes")
    func zigzagLayout() {
        var w = WireWriter()
        for v: Int64 in [0, -1, 1, -2, Int64.min] { w.writeZigzag(v) }
        #expect(w.bytes == [0, 1, 2, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
    }

    static let bad: [(bytes: [UInt8], error: WireError)] = [
        ([UInt8](repeating: 0x80, count: 10) + [0x00], .varintOverlong),
        ([UInt8](repeating: 0xFF, count: 12), .varintOverlong),
        ([UInt8](repeating: 0x80, count: 9) + [0x02], .varintOverflow),
        ([UInt8](repeating: 0xFF, count: 9) + [0x7F], .varintOverflow),
        ([0x80, 0x00], .varintNonMinimal),
        ([0x81, 0x80, 0x00], .varintNonMinimal),
        ([UInt8](repeating: 0x80, count: 9) + [0x00], .varintNonMinimal),
        ([], .truncated(field: "v")),
        ([0x80], .truncated(field: "v")),
        ([0xFF, 0xFF], .truncated(field: "v")),
        ([0x01, 0x01], .trailingBytes(count: 1)),
    ]

    @Test("overlong, overflowing, non-minimal and truncated varints are rejected", arguments: bad)
    func rejects(bytes: [UInt8], error: WireError) {
        #expect(throws: error) { try Self.readVarint(bytes) }
    }

    @Test("the largest 10-byte varint is UInt64.max")
    func maximum() throws {
        #expect(try Self.readVarint([UInt8](repeating: 0xFF, count: 9) + [0x01]) == UInt64.max)
    }

    @Test("a string length is checked against the cap and the remaining bytes before reading")
    func stringLengths() {
        #expect(throws: WireError.truncated(field: "s")) {
            try WireReader.read([5, 0x61]) { (r: inout WireReader) throws(WireError) -> String in
                try r.readString(field: "s", maxBytes: 100)
            }
        }
        #expect(throws: WireError.fieldTooLong(field: "s", length: 101, limit: 100)) {
            try WireReader.read([101]) { (r: inout WireReader) throws(WireError) -> String in
                try r.readString(field: "s", maxBytes: 100)
            }
        }
    }
}
