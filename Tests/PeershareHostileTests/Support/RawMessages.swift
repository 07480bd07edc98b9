import PeershareCore
import PeershareSpec
import Testing

/// Stream message plaintexts built byte by byte from docs/PROTOCOL.md §2 and §5 (type
/// numbers, field order, varint, zigzag and str from `Spec`), not with the product's
/// encoders, so that they can carry what the codec would refuse to build (bad names,
/// invalid UTF-8, lying sizes, unknown kinds) and follow the document, not the code.
enum Raw {
    static let mtime: Int64 = 1_700_000_000

    /// Type bytes (§5).
    static let offerType: UInt8 = 0x01, entryType: UInt8 = 0x04, dataType: UInt8 = 0x05, holeType: UInt8 = 0x06
    static let endType: UInt8 = 0x07, failureType: UInt8 = 0x09, holdingType: UInt8 = 0x10, resumeType: UInt8 = 0x11
    static let batchType: UInt8 = 0x12

    /// ENTRY: kind, path, mode, mtime seconds (zigzag), nanoseconds, then size (file) or target (symlink).
    static func entry(kind: UInt8, path: [UInt8], mode: UInt64 = 0o644, seconds: Int64 = mtime, nanoseconds: UInt64 = 0,
                      size: UInt64? = nil, target: [UInt8]? = nil) -> [UInt8] {
        [entryType, kind] + Spec.str(path) + Spec.leb128(mode) + Spec.zigzag(seconds) + Spec.leb128(nanoseconds)
            + (size.map(Spec.leb128) ?? []) + (target.map(Spec.str) ?? [])
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

    static func data(_ bytes: [UInt8]) -> [UInt8] { [dataType] + bytes }

    static func hole(_ length: UInt64) -> [UInt8] { [holeType] + Spec.leb128(length) }

    static func end(files: UInt64, bytes: UInt64) -> [UInt8] { [endType] + Spec.leb128(files) + Spec.leb128(bytes) }

    static func failure(code: UInt8, text: [UInt8]) -> [UInt8] { [failureType, code] + Spec.str(text) }

    static func resume(_ offset: UInt64) -> [UInt8] { [resumeType] + Spec.leb128(offset) }

    /// An OFFER body (no type byte), written as given: nothing is validated.
    static func summary(sender: [UInt8] = Array("hostile".utf8), files: UInt64, directories: UInt64 = 0, symlinks: UInt64 = 0,
                        total: UInt64, names: [[UInt8]], more: UInt64 = 0) -> [UInt8] {
        Spec.str(sender) + Spec.leb128(files) + Spec.leb128(directories) + Spec.leb128(symlinks) + Spec.leb128(total)
            + Spec.leb128(UInt64(names.count)) + names.flatMap(Spec.str) + Spec.leb128(more)
    }

    /// The OfferSummary of an honest one-file (or one-folder) offer, for handshakes (M3).
    static func summary(sender: String, names: [String], files: UInt64 = 1, total: UInt64 = 1) -> [UInt8] {
        summary(sender: Array(sender.utf8), files: files, total: total, names: names.map { Array($0.utf8) })
    }

    /// An OFFER message.
    static func offer(sender: String = "hostile", files: UInt64, directories: UInt64 = 0, symlinks: UInt64 = 0,
                      total: UInt64, names: [String], more: UInt64 = 0) -> [UInt8] {
        [offerType] + summary(sender: Array(sender.utf8), files: files, directories: directories, symlinks: symlinks,
                              total: total, names: names.map { Array($0.utf8) }, more: more)
    }

    static func offer(rawNames names: [[UInt8]], sender: [UInt8] = Array("hostile".utf8), files: UInt64, directories: UInt64 = 0,
                      symlinks: UInt64 = 0, total: UInt64, more: UInt64 = 0) -> [UInt8] {
        [offerType] + summary(sender: sender, files: files, directories: directories, symlinks: symlinks,
                              total: total, names: names, more: more)
    }

    /// A BATCH: each item after its u32 big-endian length (its real length unless given).
    static func batch(_ items: [[UInt8]], lengths: [UInt32]? = nil) -> [UInt8] {
        var out: [UInt8] = [batchType]
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
