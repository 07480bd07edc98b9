import Foundation
import PeershareTransfer

/// One entry a confirmed receive placed in the inbox, as the receive hook is told of it.
struct ReceivedFile: Codable, Sendable, Equatable {
    enum Kind: String, Codable, Sendable { case file, directory, symlink }
    /// Relative to the inbox: a top-level name, or a path under one ("holiday/a.jpg").
    var path: String
    var type: Kind
    /// Bytes (files only).
    var size: UInt64?
}

/// Lists what a receive placed: the top-level names the `received` event named, walked
/// without following symbolic links (`lstat`), sorted, at most `limit` entries.
enum ReceivedFiles {
    static let limit = 10_000

    /// The entries under `inbox` for `names`, and whether the list was cut at `limit`.
    static func list(inbox: String, names: [String], limit: Int = limit) -> (files: [ReceivedFile], truncated: Bool) {
        var files: [ReceivedFile] = []
        var pending = names.sorted().reversed().map { $0 }
        while let relative = pending.popLast() {
            guard files.count < limit else { return (files, true) }
            guard let entry = describe(inbox + "/" + relative, as: relative) else { continue }
            files.append(entry)
            if entry.type == .directory {
                let children = (try? FileManager.default.contentsOfDirectory(atPath: inbox + "/" + relative)) ?? []
                pending.append(contentsOf: children.sorted().reversed().map { relative + "/" + $0 })
            }
        }
        return (files, false)
    }

    private static func describe(_ path: String, as relative: String) -> ReceivedFile? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return ReceivedFile(path: relative, type: .file, size: UInt64(info.st_size))
        case S_IFDIR: return ReceivedFile(path: relative, type: .directory)
        case S_IFLNK: return ReceivedFile(path: relative, type: .symlink)
        default: return nil
        }
    }
}
