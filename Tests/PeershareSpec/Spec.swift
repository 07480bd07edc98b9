/// Encodings of docs/PROTOCOL.md §2, written from the document for the tests' own peers
/// and checks: nothing here comes from PeershareCore.
public enum Spec {
    /// Unsigned LEB128.
    public static func leb128(_ value: UInt64) -> [UInt8] {
        var value = value
        var out: [UInt8] = []
        repeat {
            let low = UInt8(value & 0x7f)
            value >>= 7
            out.append(value == 0 ? low : low | 0x80)
        } while value != 0
        return out
    }

    /// `zigzag`: the varint of `(n << 1) ^ (n >> 63)`.
    public static func zigzag(_ value: Int64) -> [UInt8] {
        leb128(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// `str` (and any length-prefixed bytes): the varint length, then the bytes as given.
    public static func str(_ bytes: [UInt8]) -> [UInt8] { leb128(UInt64(bytes.count)) + bytes }

    /// `lv_cat(items...)`: each item after its LEB128 length.
    public static func lvCat(_ items: [UInt8]...) -> [UInt8] {
        items.flatMap { leb128(UInt64($0.count)) + $0 }
    }

    /// Big-endian bytes of `value`, `count` bytes long.
    public static func bigEndian(_ value: UInt64, count: Int) -> [UInt8] {
        (0..<count).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }

    /// The big-endian number in `bytes`.
    public static func bigEndian(_ bytes: some Collection<UInt8>) -> UInt64 {
        bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    public static func ascii(_ text: String) -> [UInt8] { Array(text.utf8) }
}
