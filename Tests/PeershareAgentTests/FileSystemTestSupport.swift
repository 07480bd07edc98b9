import Foundation
import Glibc
import PeershareAgent
import PeershareCore
import PeershareTransfer

/// A fresh directory under the system temp directory for one test, removed afterwards
/// (directories are made writable first so removal cannot fail on modes set by a test).
func withScratchDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let root = FileManager.default.temporaryDirectory
        .appendingPathComponent("peershare-fs-test-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    defer { removeTree(root) }
    return try body(root)
}

/// `chmod u+rwx` on every directory below `path` (no symlink followed), then remove it all.
func removeTree(_ path: String) {
    if let walker = FileManager.default.enumerator(atPath: path) {
        for case let relative as String in walker {
            let full = path + "/" + relative
            if let info = lstatOf(full), info.st_mode & S_IFMT == S_IFDIR {
                _ = chmod(full, 0o700)
            }
        }
    }
    try? FileManager.default.removeItem(atPath: path)
}

/// An entry for tests; `path` must pass `RelativePath`.
func makeEntry(_ kind: EntryKind, _ path: String, size: UInt64 = 0, mode: UInt32 = 0o644,
               mtime: (Int64, UInt32) = (1_600_000_000, 0), target: String? = nil) throws -> Entry {
    Entry(kind: kind, path: try RelativePath(validating: path), size: size, mode: mode,
          mtimeSeconds: mtime.0, mtimeNanoseconds: mtime.1, linkTarget: target)
}

/// `lstat`, or nil if nothing is there.
func lstatOf(_ path: String) -> stat? {
    var info = stat()
    return lstat(path, &info) == 0 ? info : nil
}

/// The whole content of a regular file.
func contentsOf(_ path: String) -> [UInt8]? {
    FileManager.default.contents(atPath: path).map { [UInt8]($0) }
}

/// Names in a directory (sorted), or [] if it cannot be listed.
func namesIn(_ path: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
}

/// Every path below `path` (recursive, relative), sorted; symlinks are listed, not followed.
func treeOf(_ path: String) -> [String] {
    var result: [String] = []
    if let walker = FileManager.default.enumerator(atPath: path) {
        for case let relative as String in walker { result.append(relative) }
    }
    return result.sorted()
}

/// Creates a file with `bytes` and an exact modification time.
func makeFile(_ path: String, _ bytes: [UInt8], mtime: (Int, Int) = (1_500_000_000, 111)) {
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    var times = [timespec(tv_sec: mtime.0, tv_nsec: mtime.1), timespec(tv_sec: mtime.0, tv_nsec: mtime.1)]
    _ = utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW)
}

extension OfferWriter {
    /// Writes `bytes` as one piece.
    func write(_ bytes: [UInt8]) throws(InboxError) {
        let result: InboxError? = bytes.withUnsafeBytes { raw in
            do throws(InboxError) {
                try self.write(raw)
                return nil
            } catch {
                return error
            }
        }
        if let result { throw result }
    }

    /// Writes a whole small file: begin, one write, finish.
    func writeFile(_ entry: Entry, _ bytes: [UInt8]) throws(InboxError) {
        try begin(entry)
        try write(bytes)
        try finishFile()
    }
}

/// Names in `directory` that look like this project's temp files.
func tempFilesIn(_ directory: String) -> [String] {
    treeOf(directory).filter { ($0.split(separator: "/").last ?? "").hasPrefix(".peershare-") }
}
