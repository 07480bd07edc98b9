/// A bounds-checked cursor over the bytes of one message.
///
/// It borrows the buffer: use it only inside the `withUnsafeBytes` closure that produced
/// the buffer (`WireReader.read(_:_:)` does that for an array). Every read checks the
/// remaining length first and throws `WireError` instead of trapping, and every length
/// prefix is compared to the remaining bytes and the field's cap before anything is
/// allocated (hostile-inputs.md items 19 and 20).
public struct WireReader {
    private let buffer: UnsafeRawBufferPointer
    /// Offset of the next unread byte.
    public private(set) var offset: Int = 0

    public init(_ buffer: UnsafeRawBufferPointer) {
        self.buffer = buffer
    }

    /// Runs `body` with a reader over `bytes`.
    public static func read<T>(_ bytes: [UInt8], _ body: (inout WireReader) throws(WireError) -> T) throws(WireError) -> T {
        // `withUnsafeBytes` rethrows untyped here; keep the typed error through a Result.
        let result: Result<T, WireError> = bytes.withUnsafeBytes { raw in
            var reader = WireReader(raw)
            do throws(WireError) { return .success(try body(&reader)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Bytes not read yet.
    public var remaining: Int { buffer.count - offset }

    /// Throws `trailingBytes` unless every byte was read.
    public func finish() throws(WireError) {
        if remaining != 0 { throw .trailingBytes(count: remaining) }
    }

    public mutating func readByte(field: String) throws(WireError) -> UInt8 {
        guard offset < buffer.count else { throw .truncated(field: field) }
        defer { offset += 1 }
        return buffer[offset]
    }

    /// Reads an unsigned LEB128 varint: at most 10 bytes, the 10th at most 1, and no
    /// redundant trailing zero group, so each value has exactly one encoding.
    public mutating func readVarint(field: String) throws(WireError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        for index in 0..<10 {
            let byte = try readByte(field: field)
            if index == 9 {
                if byte & 0x80 != 0 { throw .varintOverlong }
                if byte > 1 { throw .varintOverflow }
            }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 {
                if index > 0, byte == 0 { throw .varintNonMinimal }
                return value
            }
            shift += 7
        }
        throw .varintOverlong // not reached: index 9 always returns or throws
    }

    /// Reads a varint that must be at most `max`.
    public mutating func readVarint(field: String, max: UInt64) throws(WireError) -> UInt64 {
        let value = try readVarint(field: field)
        if value > max { throw .valueOutOfRange(field: field, value: value) }
        return value
    }

    /// Reads a zigzag-encoded signed integer.
    public mutating func readZigzag(field: String) throws(WireError) -> Int64 {
        let u = try readVarint(field: field)
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    /// Reads `count` raw bytes as a view into the borrowed buffer.
    public mutating func readBytes(_ count: Int, field: String) throws(WireError) -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else { throw .truncated(field: field) }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + count)])
    }

    /// Reads everything that is left.
    public mutating func readRest() -> UnsafeRawBufferPointer {
        defer { offset = buffer.count }
        return UnsafeRawBufferPointer(rebasing: buffer[offset...])
    }

    /// Reads a length-prefixed byte string, checking the length against `maxBytes` and
    /// the remaining bytes before touching the content.
    public mutating func readLengthPrefixed(field: String, maxBytes: Int) throws(WireError) -> UnsafeRawBufferPointer {
        let length = try readVarint(field: field)
        if length > UInt64(maxBytes) { throw .fieldTooLong(field: field, length: length, limit: maxBytes) }
        return try readBytes(Int(length), field: field)
    }

    /// Reads a length-prefixed UTF-8 string; invalid UTF-8 is rejected, never repaired.
    public mutating func readString(field: String, maxBytes: Int) throws(WireError) -> String {
        let bytes = try readLengthPrefixed(field: field, maxBytes: maxBytes)
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .invalidUTF8(field: field) }
        return text
    }
}
