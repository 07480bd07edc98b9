import Foundation
import Glibc
import SodiumKit

/// One file-system node as `lstat` sees it, plus a file's content hash and a link's target.
struct NodeInfo: Equatable, CustomStringConvertible {
    var kind: String
    var mode: UInt32
    var size: Int
    var inode: UInt
    var mtimeSeconds: Int
    var mtimeNanoseconds: Int
    var contentHash: [UInt8]?
    var linkTarget: [UInt8]?

    var description: String {
        var text = "\(kind) mode \(String(mode & 0o7777, radix: 8)) size \(size) ino \(inode) mtime \(mtimeSeconds).\(mtimeNanoseconds)"
        if let linkTarget { text += " -> \(shown(linkTarget))" }
        return text
    }

    /// `lstat` of an absolute `path` (raw bytes), or nil when it does not exist.
    static func read(_ path: [UInt8]) -> NodeInfo? {
        read(directory: AT_FDCWD, name: path)
    }

    /// `fstatat(directory, name, AT_SYMLINK_NOFOLLOW)`, the content hash of a regular file
    /// (opened with `O_NOFOLLOW|O_NONBLOCK`, relative to `directory`) and a link's target.
    /// Relative to a descriptor, so arbitrarily deep trees can be read (no `PATH_MAX`).
    static func read(directory: Int32, name: [UInt8]) -> NodeInfo? {
        var info = stat()
        guard fstatat(directory, cName(name), &info, AT_SYMLINK_NOFOLLOW) == 0 else { return nil }
        let type = info.st_mode & S_IFMT
        let kind: String = switch type {
        case S_IFREG: "file"
        case S_IFDIR: "dir"
        case S_IFLNK: "symlink"
        case S_IFIFO: "fifo"
        case S_IFCHR, S_IFBLK: "device"
        case S_IFSOCK: "socket"
        default: "other"
        }
        var node = NodeInfo(kind: kind, mode: info.st_mode, size: Int(info.st_size), inode: UInt(info.st_ino),
                            mtimeSeconds: info.st_mtim.tv_sec, mtimeNanoseconds: info.st_mtim.tv_nsec)
        if type == S_IFREG {
            let fd = openat(directory, cName(name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
            if fd >= 0 {
                defer { close(fd) }
                var bytes: [UInt8] = []
                var chunk = [UInt8](repeating: 0, count: 65_536)
                while true {
                    let count = chunk.withUnsafeMutableBytes { raw -> Int in
                        guard let base = raw.baseAddress else { return 0 }
                        return Glibc.read(fd, base, raw.count)
                    }
                    if count <= 0 { break }
                    bytes.append(contentsOf: chunk[0..<count])
                }
                node.contentHash = (try? Hash.generic(bytes, outputLength: 32)) ?? bytes
            }
        }
        if type == S_IFLNK {
            var target = [CChar](repeating: 0, count: 4097)
            let count = readlinkat(directory, cName(name), &target, 4096)
            if count >= 0 { node.linkTarget = target[0..<count].map { UInt8(bitPattern: $0) } }
        }
        return node
    }
}

/// `name` as a NUL-terminated C string (passed to C calls by implicit array-to-pointer conversion).
func cName(_ name: [UInt8]) -> [CChar] {
    name.map { CChar(bitPattern: $0) } + [0]
}

/// Opens a directory relative to `directory` without following a symlink (-1 on failure).
func openDirectory(_ directory: Int32, _ name: [UInt8]) -> Int32 {
    openat(directory, cName(name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
}

/// Every node under a directory, keyed by its relative path as raw bytes (so NFC and NFD
/// spellings stay two keys), never following symlinks, walked by descriptors.
struct TreeSnapshot: Equatable {
    var nodes: [[UInt8]: NodeInfo] = [:]

    /// Scans `root`, leaving out the top-level names in `excluding` (and everything below them).
    static func scan(_ root: String, excluding: Set<String> = []) -> TreeSnapshot {
        var snapshot = TreeSnapshot()
        let fd = openDirectory(AT_FDCWD, Array(root.utf8))
        guard fd >= 0 else { return snapshot }
        defer { close(fd) }
        walk(fd, relative: [], excluding: Set(excluding.map { Array($0.utf8) }), into: &snapshot)
        return snapshot
    }

    private static func walk(_ directory: Int32, relative: [UInt8], excluding: Set<[UInt8]>, into snapshot: inout TreeSnapshot) {
        for name in entries(of: directory) {
            if relative.isEmpty && excluding.contains(name) { continue }
            let key = relative.isEmpty ? name : relative + [UInt8(ascii: "/")] + name
            guard let node = NodeInfo.read(directory: directory, name: name) else { continue }
            snapshot.nodes[key] = node
            if node.kind == "dir" {
                let child = openDirectory(directory, name)
                guard child >= 0 else { continue }
                walk(child, relative: key, excluding: excluding, into: &snapshot)
                close(child)
            }
        }
    }

    /// The raw names in the directory at `path` (without `.` and `..`).
    static func entries(of path: [UInt8]) -> [[UInt8]] {
        let fd = openDirectory(AT_FDCWD, path)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        return entries(of: fd)
    }

    /// The raw names in an open directory (without `.` and `..`); the descriptor stays open.
    static func entries(of directory: Int32) -> [[UInt8]] {
        let copy = dup(directory)
        guard copy >= 0, let handle = fdopendir(copy) else { return [] }
        defer { closedir(handle) }
        rewinddir(handle)
        var names: [[UInt8]] = []
        while let entry = readdir(handle) {
            // Read in place: copying the `struct dirent` (`entry.pointee`) reads past glibc's
            // buffer when the last record of a buffer is shorter than the struct.
            let name: [UInt8] = withUnsafeMutablePointer(to: &entry.pointee.d_name) { field in
                let start = UnsafeRawPointer(field)
                return Array(UnsafeRawBufferPointer(start: start, count: strlen(start.assumingMemoryBound(to: CChar.self))))
            }
            if name == [UInt8(ascii: ".")] || name == [UInt8(ascii: "."), UInt8(ascii: ".")] { continue }
            names.append(name)
        }
        return names
    }

    var paths: Set<[UInt8]> { Set(nodes.keys) }

    /// A readable list of what differs from `before` (empty when equal).
    func differences(from before: TreeSnapshot) -> [String] {
        var lines: [String] = []
        for key in before.paths.union(paths).sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            switch (before.nodes[key], nodes[key]) {
            case (nil, let now?): lines.append("created \(shown(key)): \(now)")
            case (let was?, nil): lines.append("removed \(shown(key)): was \(was)")
            case (let was?, let now?) where was != now: lines.append("changed \(shown(key)): \(was) → \(now)")
            default: break
            }
        }
        return lines
    }
}

/// The listing (names and kinds, file content hashes) of a tree, for comparing received content.
func treeListing(_ root: String) -> [String: String] {
    var result: [String: String] = [:]
    for (key, node) in TreeSnapshot.scan(root).nodes {
        result[String(decoding: key, as: UTF8.self)] = node.kind == "file" ? "file:\(node.contentHash.map { Hex.encode($0) } ?? "")" : node.kind
    }
    return result
}

/// Removes the entry `name` of an open directory and everything below it, by descriptors
/// (no symlink is followed, no path length limit). Best effort.
func removeEntry(_ directory: Int32, _ name: [UInt8]) {
    guard let node = NodeInfo.read(directory: directory, name: name) else { return }
    if node.kind == "dir" {
        fchmodat(directory, cName(name), 0o700, 0)
        let child = openDirectory(directory, name)
        if child >= 0 {
            for entry in TreeSnapshot.entries(of: child) { removeEntry(child, entry) }
            close(child)
        }
        unlinkat(directory, cName(name), AT_REMOVEDIR)
    } else {
        unlinkat(directory, cName(name), 0)
    }
}
