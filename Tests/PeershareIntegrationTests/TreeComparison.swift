import Foundation

/// Compares a received tree with the tree that was sent.
enum TreeComparison {
    /// The mode a received entry must have: the source's permission bits without setuid,
    /// setgid, sticky and the world-writable bit (0o4777 arrives as 0o775).
    static func expectedMode(_ sourceMode: UInt32) -> UInt32 { sourceMode & 0o775 }

    /// Every difference between the sent tree `source` and the received tree `received`
    /// (empty when they match):
    /// - the same relative paths (byte for byte), except `skipped` (entries the sender must
    ///   leave out, and everything below them), which must be absent;
    /// - the same type; for files and directories `expectedMode(source)`; the same mtime to
    ///   the nanosecond (files, directories and symlinks);
    /// - files: the same size and bytes (`sameContents`, streamed);
    /// - symlinks: the same target.
    static func differences(source: String, received: String, skipped: Set<EntryPath> = []) throws -> [String] {
        let sent = try TreeSnapshot.take(source)
        let got = try TreeSnapshot.take(received)
        var result: [String] = []
        let expected = sent.entries.filter { entry in !skipped.contains { entry.key.isWithin($0) } }
        for path in Set(expected.keys).union(got.entries.keys).sorted() {
            guard let want = expected[path] else {
                result.append("unexpected \(path) in the received tree (\(got.entries[path]?.summary ?? ""))")
                continue
            }
            guard let have = got.entries[path] else {
                result.append("missing \(path) (\(want.summary))")
                continue
            }
            guard want.type == have.type else {
                result.append("\(path): a \(want.type.rawValue) was sent, a \(have.type.rawValue) arrived")
                continue
            }
            if want.type != .symlink, have.mode != expectedMode(want.mode) {
                result.append("\(path): mode \(String(have.mode, radix: 8)), expected \(String(expectedMode(want.mode), radix: 8)) (sent \(String(want.mode, radix: 8)))")
            }
            if want.mtimeSeconds != have.mtimeSeconds || want.mtimeNanoseconds != have.mtimeNanoseconds {
                result.append("\(path): mtime \(have.mtimeSeconds).\(String(format: "%09d", have.mtimeNanoseconds)), expected \(want.mtimeSeconds).\(String(format: "%09d", want.mtimeNanoseconds))")
            }
            switch want.type {
            case .file:
                if want.size != have.size {
                    result.append("\(path): size \(have.size), expected \(want.size)")
                } else if try !sameContents(EntryPath(source).appending(path.bytes).bytes,
                                            EntryPath(received).appending(path.bytes).bytes) {
                    result.append("\(path): content differs")
                }
            case .symlink:
                if want.linkTarget != have.linkTarget {
                    result.append("\(path): link target \(have.linkTarget.map { EntryPath(bytes: $0).description } ?? "none"), expected \(want.linkTarget.map { EntryPath(bytes: $0).description } ?? "none")")
                }
            case .directory, .other:
                break
            }
        }
        return result
    }
}
