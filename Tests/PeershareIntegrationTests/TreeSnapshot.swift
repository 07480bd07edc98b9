import Foundation
import Glibc

/// A path relative to a snapshot's root, kept as raw bytes: names are compared byte for
/// byte (Swift's `String ==` would call an NFC and an NFD name equal), and names that are
/// not valid UTF-8 survive. The root itself is the empty path.
struct EntryPath: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    let bytes: [UInt8]

    init(bytes: [UInt8]) { self.bytes = bytes }
    init(_ string: String) { bytes = Array(string.utf8) }
    init(stringLiteral value: String) { self.init(value) }

    /// `self/name` (just `name` at the root).
    func appending(_ name: [UInt8]) -> EntryPath {
        if name.isEmpty { return self }
        return EntryPath(bytes: bytes.isEmpty ? name : bytes + [UInt8(ascii: "/")] + name)
    }

    /// True when `self` is `other` or lies below it.
    func isWithin(_ other: EntryPath) -> Bool {
        if other.bytes.isEmpty || bytes == other.bytes { return true }
        return bytes.count > other.bytes.count
            && bytes.starts(with: other.bytes) && bytes[other.bytes.count] == UInt8(ascii: "/")
    }

    static func < (lhs: EntryPath, rhs: EntryPath) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }

    /// The path for messages: valid UTF-8 shown as is (control characters escaped), other
    /// bytes as `\xNN`.
    var description: String {
        if bytes.isEmpty { return "." }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            return bytes.map { $0 < 0x80 && $0 >= 0x20 ? String(UnicodeScalar($0)) : String(format: "\\x%02X", $0) }.joined()
        }
        return text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? String(format: "\\u{%X}", $0.value) : String($0) }.joined()
    }
}

enum EntryType: String, Sendable {
    case file, directory, symlink, other
}

/// What `lstat` (and `readlink`) say about one entry.
struct EntryInfo: Sendable, Equatable {
    var type: EntryType
    /// `st_mode & 0o7777`.
    var mode: UInt32
    var mtimeSeconds: Int
    var mtimeNanoseconds: Int
    var size: Int64
    /// `st_blocks * 512`: what the file really occupies (small for a sparse file).
    var allocatedBytes: Int64
    var inode: UInt64
    var linkTarget: [UInt8]?
    /// FNV-1a 64 of the content, when the snapshot was asked to hash files.
    var contentHash: UInt64?

    /// A one-line rendering for messages.
    var summary: String {
        var text = "\(type.rawValue) mode \(String(mode, radix: 8)) mtime \(mtimeSeconds).\(String(format: "%09d", mtimeNanoseconds)) size \(size) inode \(inode)"
        if let linkTarget { text += " -> \(EntryPath(bytes: linkTarget))" }
        if let contentHash { text += " content \(String(contentHash, radix: 16))" }
        return text
    }
}

/// Every entry below a root, found with `opendir`/`readdir` and `lstat` (no symlink is ever
/// followed). Used both to compare a received tree with its source and to prove that
/// nothing changed outside an inbox.
struct TreeSnapshot: Sendable {
    let root: String
    let entries: [EntryPath: EntryInfo]

    /// Sorted paths.
    var paths: [EntryPath] { entries.keys.sorted() }

    /// Walks `root`. Paths in `excluding` are neither recorded nor descended into. With
    /// `hashContents`, regular files up to `hashLimit` bytes get a content hash (larger ones
    /// are compared with `sameContents` instead).
    static func take(_ root: String, excluding: Set<EntryPath> = [], hashContents: Bool = false,
                     hashLimit: Int64 = 16 << 20) throws -> TreeSnapshot {
        var entries: [EntryPath: EntryInfo] = [:]
        let rootBytes = Array(root.utf8)
        func visit(_ relative: EntryPath) throws {
            let full = relative.bytes.isEmpty ? rootBytes : rootBytes + [UInt8(ascii: "/")] + relative.bytes
            var info = try lstatBytes(full)
            if hashContents, info.type == .file, info.size <= hashLimit {
                info.contentHash = try fnv1a(fileAt: full)
            }
            entries[relative] = info
            guard info.type == .directory else { return }
            for name in try listDirectory(full) {
                let child = relative.appending(name)
                if excluding.contains(child) { continue }
                try visit(child)
            }
        }
        try visit(EntryPath(bytes: []))
        return TreeSnapshot(root: root, entries: entries)
    }

    /// Human-readable differences from `before` to `self` (empty when the trees match):
    /// entries that appeared, disappeared or changed.
    func changes(since before: TreeSnapshot) -> [String] {
        var result: [String] = []
        for path in Set(before.entries.keys).union(entries.keys).sorted() {
            switch (before.entries[path], entries[path]) {
            case let (old?, new?) where old != new:
                result.append("changed \(path): \(old.summary) => \(new.summary)")
            case (nil, let new?):
                result.append("appeared \(path): \(new.summary)")
            case (let old?, nil):
                result.append("disappeared \(path): \(old.summary)")
            default:
                break
            }
        }
        return result
    }
}

// MARK: System calls on byte paths

/// Calls `body` with `bytes` as a NUL-terminated C string.
func withCPath<R>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) throws -> R) throws -> R {
    var terminated = bytes.map { CChar(bitPattern: $0) }
    terminated.append(0)
    return try terminated.withUnsafeBufferPointer { buffer in
        guard let base = buffer.baseAddress else { throw HarnessError("empty path buffer") }
        return try body(base)
    }
}

/// `lstat` plus `readlink` for symlinks.
func lstatBytes(_ path: [UInt8]) throws -> EntryInfo {
    var info = stat()
    let shown = EntryPath(bytes: path).description
    guard try withCPath(path, { lstat($0, &info) }) == 0 else { throw HarnessError.system("lstat", shown) }
    let type: EntryType
    switch info.st_mode & S_IFMT {
    case S_IFREG: type = .file
    case S_IFDIR: type = .directory
    case S_IFLNK: type = .symlink
    default: type = .other
    }
    var target: [UInt8]?
    if type == .symlink {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = try withCPath(path) { cPath in
            buffer.withUnsafeMutableBytes { raw -> Int in
                guard let base = raw.baseAddress else { return -1 }
                return readlink(cPath, base.assumingMemoryBound(to: CChar.self), raw.count)
            }
        }
        guard count >= 0 else { throw HarnessError.system("readlink", shown) }
        target = Array(buffer[0..<count])
    }
    return EntryInfo(
        type: type, mode: UInt32(info.st_mode) & 0o7777,
        mtimeSeconds: Int(info.st_mtim.tv_sec), mtimeNanoseconds: Int(info.st_mtim.tv_nsec),
        size: Int64(info.st_size), allocatedBytes: Int64(info.st_blocks) * 512,
        inode: UInt64(info.st_ino), linkTarget: target, contentHash: nil)
}

/// The names in a directory (without `.` and `..`), as raw bytes, sorted.
func listDirectory(_ path: [UInt8]) throws -> [[UInt8]] {
    let shown = EntryPath(bytes: path).description
    guard let directory = try withCPath(path, { opendir($0) }) else { throw HarnessError.system("opendir", shown) }
    defer { closedir(directory) }
    var names: [[UInt8]] = []
    while true {
        errno = 0
        guard let entry = readdir(directory) else {
            if errno != 0 { throw HarnessError.system("readdir", shown) }
            break
        }
        let name = direntName(entry)
        if name == [UInt8(ascii: ".")] || name == [UInt8(ascii: "."), UInt8(ascii: ".")] { continue }
        names.append(name)
    }
    return names.sorted { $0.lexicographicallyPrecedes($1) }
}

/// A `readdir` entry's name, read in place: copying the `struct dirent` (`entry.pointee`)
/// reads past glibc's buffer when the last record of a buffer is shorter than the struct
/// (AddressSanitizer: heap-buffer-overflow on a directory of 5,000 files).
func direntName(_ entry: UnsafeMutablePointer<dirent>) -> [UInt8] {
    withUnsafeMutablePointer(to: &entry.pointee.d_name) { field in
        let start = UnsafeRawPointer(field)
        return Array(UnsafeRawBufferPointer(start: start, count: strlen(start.assumingMemoryBound(to: CChar.self))))
    }
}

/// FNV-1a 64 of a (small) file's content, read in 64 KiB chunks.
func fnv1a(fileAt path: [UInt8]) throws -> UInt64 {
    let shown = EntryPath(bytes: path).description
    let fd = try withCPath(path) { open($0, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) }
    guard fd >= 0 else { throw HarnessError.system("open", shown) }
    defer { close(fd) }
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    var buffer = [UInt8](repeating: 0, count: 64 << 10)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR { continue }
            throw HarnessError.system("read", shown)
        }
        if count == 0 { return hash }
        for byte in buffer[0..<count] {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
    }
}

// MARK: Streaming content comparison

private let seekData: Int32 = 3  // SEEK_DATA (Linux), not exported by the Glibc module

/// True when the two regular files have the same size and the same bytes.
///
/// Streams both files in 4 MiB chunks (`pread` into two buffers, `memcmp`), never holding a
/// whole file in memory. Ranges that `lseek(SEEK_DATA)` reports as a hole in *both* files
/// read as zeros in both by definition, so they are skipped rather than read: a 5 GiB sparse
/// file costs a few calls instead of 10 GiB of reads. Any range that is data in either file
/// is read and compared byte for byte.
func sameContents(_ first: String, _ second: String) throws -> Bool {
    try sameContents(Array(first.utf8), Array(second.utf8))
}

/// `sameContents` for byte paths.
func sameContents(_ firstPath: [UInt8], _ secondPath: [UInt8]) throws -> Bool {
    let first = EntryPath(bytes: firstPath).description
    let second = EntryPath(bytes: secondPath).description
    let a = try withCPath(firstPath) { open($0, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) }
    guard a >= 0 else { throw HarnessError.system("open", first) }
    defer { close(a) }
    let b = try withCPath(secondPath) { open($0, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) }
    guard b >= 0 else { throw HarnessError.system("open", second) }
    defer { close(b) }
    var infoA = stat(), infoB = stat()
    guard fstat(a, &infoA) == 0 else { throw HarnessError.system("fstat", first) }
    guard fstat(b, &infoB) == 0 else { throw HarnessError.system("fstat", second) }
    guard infoA.st_size == infoB.st_size else { return false }
    let size = Int64(infoA.st_size)
    let chunk = 4 << 20
    let bufferA = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 64)
    defer { bufferA.deallocate() }
    let bufferB = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 64)
    defer { bufferB.deallocate() }

    /// Where data starts at or after `offset` (`size` if only a hole follows; `offset` if
    /// the file system cannot tell, which makes the caller read).
    func nextData(_ fd: Int32, _ offset: Int64) -> Int64 {
        let result = lseek(fd, off_t(offset), seekData)
        if result >= 0 { return Int64(result) }
        return errno == ENXIO ? size : offset
    }
    /// Reads exactly `count` bytes at `offset` (short only at end of file).
    func readFully(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: Int64, _ shown: String) throws -> Int {
        var done = 0
        while done < count {
            let got = pread(fd, buffer + done, count - done, off_t(offset) + off_t(done))
            if got < 0 {
                if errno == EINTR { continue }
                throw HarnessError.system("read", shown)
            }
            if got == 0 { break }
            done += got
        }
        return done
    }

    var offset: Int64 = 0
    while offset < size {
        let dataA = nextData(a, offset)
        let dataB = nextData(b, offset)
        let bothHole = min(dataA, dataB)
        if bothHole > offset {
            offset = bothHole
            continue
        }
        let count = Int(min(Int64(chunk), size - offset))
        let gotA = try readFully(a, bufferA, count, offset, first)
        let gotB = try readFully(b, bufferB, count, offset, second)
        guard gotA == count, gotB == count else { return false }
        if memcmp(bufferA, bufferB, count) != 0 { return false }
        offset += Int64(count)
    }
    // Nothing may follow the common size (a file that grew while being compared).
    return true
}
