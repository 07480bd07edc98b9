/// Length-value encoding as in the CPace draft's `prepend_len` / `lv_cat`: each item is preceded by
/// its length as an unsigned LEB128 number (7 bits per byte, least significant group first, high
/// bit set on every byte but the last). Used for every hash and signature input of the handshake,
/// so that no two different lists of items encode to the same bytes.
public enum LV {
    /// The unsigned LEB128 encoding of `value` (a negative value encodes as 0).
    public static func leb128(_ value: Int) -> [UInt8] {
        var remaining = UInt64(max(value, 0))
        var bytes: [UInt8] = []
        repeat {
            var byte = UInt8(remaining & 0x7f)
            remaining >>= 7
            if remaining != 0 { byte |= 0x80 }
            bytes.append(byte)
        } while remaining != 0
        return bytes
    }

    /// `prepend_len(item)`: LEB128(length) followed by the bytes.
    public static func encode(_ item: [UInt8]) -> [UInt8] {
        leb128(item.count) + item
    }

    /// `prepend_len` of a string's UTF-8 bytes.
    public static func encode(_ item: String) -> [UInt8] {
        encode(Array(item.utf8))
    }

    /// `lv_cat(items...)`: the concatenation of `encode(item)` for every item.
    public static func cat(_ items: [UInt8]...) -> [UInt8] {
        cat(items)
    }

    /// `lv_cat` of a list of items.
    public static func cat(_ items: [[UInt8]]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(items.reduce(0) { $0 + $1.count + 2 })
        for item in items {
            output += leb128(item.count)
            output += item
        }
        return output
    }

    /// Reads one length-prefixed item starting at `offset` and advances `offset` past it. Returns nil
    /// (leaving `offset` unchanged) on a truncated item, a length encoding longer than 4 bytes, or a
    /// length above `maximumLength`.
    public static func decode(_ bytes: [UInt8], at offset: inout Int, maximumLength: Int = 1 << 20) -> [UInt8]? {
        var index = offset
        var length = 0
        var shift = 0
        while true {
            guard index < bytes.count, shift < 28 else { return nil }
            let byte = bytes[index]
            index += 1
            length |= Int(byte & 0x7f) << shift
            shift += 7
            if byte & 0x80 == 0 { break }
        }
        guard length <= maximumLength, length <= bytes.count - index else { return nil }
        let item = Array(bytes[index..<(index + length)])
        offset = index + length
        return item
    }
}

/// `lv_cat(items...)` of the CPace draft: shorthand for `LV.cat`.
package func lvCat(_ items: [UInt8]...) -> [UInt8] {
    LV.cat(items)
}
