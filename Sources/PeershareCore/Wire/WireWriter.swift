/// Appends wire fields to a byte array: the encoding side of `WireReader`.
public struct WireWriter: Sendable {
    /// The bytes written so far.
    public var bytes: [UInt8]

    public init(bytes: [UInt8] = []) {
        self.bytes = bytes
    }

    /// Runs `body` with a writer that appends to `buffer`, without copying it.
    public static func append(to buffer: inout [UInt8], _ body: (inout WireWriter) -> Void) {
        var writer = WireWriter(bytes: buffer)
        buffer = [] // leaves the writer the only owner, so appends do not copy
        body(&writer)
        buffer = writer.bytes
    }

    public mutating func writeByte(_ byte: UInt8) {
        bytes.append(byte)
    }

    /// Unsigned LEB128, shortest form.
    public mutating func writeVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// Zigzag (0, -1, 1, -2, ... → 0, 1, 2, 3, ...) then varint.
    public mutating func writeZigzag(_ value: Int64) {
        writeVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    public mutating func writeBytes(_ data: some Collection<UInt8>) {
        bytes.append(contentsOf: data)
    }

    /// Varint length, then the UTF-8 bytes.
    public mutating func writeString(_ text: String) {
        writeVarint(UInt64(text.utf8.count))
        bytes.append(contentsOf: text.utf8)
    }

    /// Like `writeString`, cut on a `Character` boundary to at most `maxBytes`, so
    /// over-long free text from our own side never makes the peer reject the message.
    public mutating func writeString(_ text: String, truncatingTo maxBytes: Int) {
        writeString(UniqueName.shortened(Substring(text), toBytes: maxBytes))
    }
}
