import PeershareCore
import Testing

/// Stream message plaintexts built byte by byte with `WireWriter`, so that they can carry what
/// the codec would refuse to build: bad names, invalid UTF-8, lying sizes, unknown kinds.
enum Raw {
    static let mtime: Int64 = 1_700_000_000

    /// A string field from raw bytes (varint length, then the bytes as given).
    static func string(_ bytes: [UInt8], into writer: inout WireWriter) {
        writer.writeVarint(UInt64(bytes.count))
        writer.writeBytes(bytes)
    }

    /// ENTRY: kind, path, mode, mtime seconds (zigzag), nanoseconds, then size (file) or target (symlink).
    static func entry(kind: UInt8, path: [UInt8], mode: UInt64 = 0o644, seconds: Int64 = mtime, nanoseconds: UInt64 = 0,
                      size: UInt64? = nil, target: [UInt8]? = nil) -> [UInt8] {
        var writer = WireWriter()
        writer.writeByte(StreamMessage.entryType)
        writer.writeByte(kind)
        string(path, into: &writer)
        writer.writeVarint(mode)
        writer.writeZigzag(seconds)
        writer.writeVarint(nanoseconds)
        if let size { writer.writeVarint(size) }
        if let target { string(target, into: &writer) }
        return writer.bytes
    }

    static func file(_ path: String, size: UInt64, mode: UInt64 = 0o644) -> [UInt8] {
        entry(kind: 1, path: Array(path.utf8), mode: mode, size: size)
    }

    static func file(bytes path: [UInt8], size: UInt64, mode: UInt64 = 0o644) -> [UInt8] {
        entry(kind: 1, path: path, mode: mode, size: size)
    }

    static func directory(_ path: String, mode: UInt64 = 0o755) -> [UInt8] {
        entry(kind: 2, path: Array(path.utf8), mode: mode)
    }

    static func symlink(_ path: String, target: String) -> [UInt8] {
        entry(kind: 3, path: Array(path.utf8), mode: 0o777, target: Array(target.utf8))
    }

    static func data(_ bytes: [UInt8]) -> [UInt8] { [StreamMessage.dataType] + bytes }

    static func hole(_ length: UInt64) -> [UInt8] {
        var writer = WireWriter()
        writer.writeByte(StreamMessage.holeType)
        writer.writeVarint(length)
        return writer.bytes
    }

    static func end(files: UInt64, bytes: UInt64) -> [UInt8] {
        var writer = WireWriter()
        writer.writeByte(StreamMessage.endType)
        writer.writeVarint(files)
        writer.writeVarint(bytes)
        return writer.bytes
    }

    static func failure(code: UInt8, text: [UInt8]) -> [UInt8] {
        var writer = WireWriter()
        writer.writeByte(StreamMessage.failureType)
        writer.writeByte(code)
        string(text, into: &writer)
        return writer.bytes
    }

    /// An OFFER body (no type byte), written as given: nothing is validated.
    static func summary(sender: [UInt8] = Array("hostile".utf8), files: UInt64, directories: UInt64 = 0, symlinks: UInt64 = 0,
                        total: UInt64, names: [[UInt8]], more: UInt64 = 0) -> [UInt8] {
        var writer = WireWriter()
        string(sender, into: &writer)
        writer.writeVarint(files)
        writer.writeVarint(directories)
        writer.writeVarint(symlinks)
        writer.writeVarint(total)
        writer.writeVarint(UInt64(names.count))
        for name in names { string(name, into: &writer) }
        writer.writeVarint(more)
        return writer.bytes
    }

    /// An OFFER message (type byte + body).
    static func offer(sender: String = "hostile", files: UInt64, directories: UInt64 = 0, symlinks: UInt64 = 0,
                      total: UInt64, names: [String], more: UInt64 = 0) -> [UInt8] {
        [StreamMessage.offerType] + summary(sender: Array(sender.utf8), files: files, directories: directories, symlinks: symlinks,
                                            total: total, names: names.map { Array($0.utf8) }, more: more)
    }

    static func offer(rawNames names: [[UInt8]], sender: [UInt8] = Array("hostile".utf8), files: UInt64, directories: UInt64 = 0,
                      symlinks: UInt64 = 0, total: UInt64, more: UInt64 = 0) -> [UInt8] {
        [StreamMessage.offerType] + summary(sender: sender, files: files, directories: directories, symlinks: symlinks,
                                            total: total, names: names, more: more)
    }

    /// A BATCH: each item after its u32 big-endian length (its real length unless given).
    static func batch(_ items: [[UInt8]], lengths: [UInt32]? = nil) -> [UInt8] {
        var out: [UInt8] = [StreamMessage.batchType]
        for (index, item) in items.enumerated() {
            let length = lengths?[index] ?? UInt32(item.count)
            out += [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
            out += item
        }
        return out
    }

    /// `count` bytes of a recognisable pattern.
    static func pattern(_ count: Int, seed: UInt8 = 7) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
    }
}

/// A test argument shown escaped in the test runner's own output (names carry raw ESC, CR...).
struct EscapedText: Sendable, CustomTestStringConvertible {
    let value: String
    init(_ value: String) { self.value = value }
    var testDescription: String { DisplayEscape.escape(value) }
}

/// One step a hostile peer takes inside an authenticated stream.
enum Step: Sendable {
    /// Encrypt and send a plaintext (TAG_MESSAGE).
    case message([UInt8])
    /// Encrypt and send a plaintext with TAG_FINAL.
    case final([UInt8])
    /// Send a frame payload as is (no encryption).
    case rawFrame([UInt8])
    /// Send bytes as is (no framing).
    case rawBytes([UInt8])
}
