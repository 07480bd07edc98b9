import Foundation
import Glibc

/// Builds source trees deterministically: exact modes (set with `chmod`, so the umask does
/// not matter), exact times with nanoseconds (`utimensat`), content from a seeded generator.
enum Fixture {
    /// `mkdir` then `chmod mode`.
    static func directory(_ path: String, mode: mode_t = 0o755) throws {
        guard mkdir(path, 0o700) == 0 else { throw HarnessError.system("mkdir", path) }
        guard chmod(path, mode) == 0 else { throw HarnessError.system("chmod", path) }
    }

    /// Creates `path` exclusively with `bytes`, then `fchmod mode`.
    static func file(_ path: String, _ bytes: [UInt8] = [], mode: mode_t = 0o644) throws {
        try file(Array(path.utf8), bytes, mode: mode)
    }

    /// Same with a byte path (for names that are not valid UTF-8).
    static func file(_ path: [UInt8], _ bytes: [UInt8] = [], mode: mode_t = 0o644) throws {
        let shown = EntryPath(bytes: path).description
        let fd = try withCPath(path) { open($0, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
        guard fd >= 0 else { throw HarnessError.system("create", shown) }
        defer { close(fd) }
        try writeAll(fd, bytes, at: 0, shown)
        guard fchmod(fd, mode) == 0 else { throw HarnessError.system("fchmod", shown) }
    }

    /// A text file.
    static func file(_ path: String, text: String, mode: mode_t = 0o644) throws {
        try file(path, Array(text.utf8), mode: mode)
    }

    /// `symlink(target, path)`.
    static func symlink(_ path: String, to target: String) throws {
        guard Glibc.symlink(target, path) == 0 else { throw HarnessError.system("symlink", path) }
    }

    /// Sets atime and mtime of `path` (not following a symlink) to `seconds.nanoseconds`.
    static func setTime(_ path: String, seconds: Int, nanoseconds: Int) throws {
        var times = [timespec(tv_sec: seconds, tv_nsec: nanoseconds), timespec(tv_sec: seconds, tv_nsec: nanoseconds)]
        guard utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW) == 0 else {
            throw HarnessError.system("utimensat", path)
        }
    }

    /// A sparse file: `ftruncate(size)` then `pwrite` of each region; everything else is a
    /// hole.
    static func sparseFile(_ path: String, size: Int64, regions: [(offset: Int64, bytes: [UInt8])], mode: mode_t = 0o644) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw HarnessError.system("create", path) }
        defer { close(fd) }
        guard ftruncate(fd, off_t(size)) == 0 else { throw HarnessError.system("ftruncate", path) }
        for region in regions {
            try writeAll(fd, region.bytes, at: region.offset, path)
        }
        guard fchmod(fd, mode) == 0 else { throw HarnessError.system("fchmod", path) }
    }

    /// A file of `size` pseudo-random bytes: a 1 MiB block from `seed`, with each MiB
    /// stamped with its index so no two MiB are equal. Written 1 MiB at a time.
    static func randomFile(_ path: String, size: Int, seed: UInt64, mode: mode_t = 0o644) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw HarnessError.system("create", path) }
        defer { close(fd) }
        let blockSize = 1 << 20
        var block = bytes(count: min(blockSize, size), seed: seed)
        var offset = 0
        var index: UInt64 = 0
        while offset < size {
            let count = min(blockSize, size - offset)
            if block.count >= 8 {
                withUnsafeBytes(of: index.littleEndian) { stamp in
                    for i in 0..<8 { block[i] = stamp[i] }
                }
            }
            try writeAll(fd, Array(block[0..<count]), at: Int64(offset), path)
            offset += count
            index += 1
        }
        guard fchmod(fd, mode) == 0 else { throw HarnessError.system("fchmod", path) }
    }

    /// `count` pseudo-random bytes from `seed` (SplitMix64): the same every run.
    static func bytes(count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        var result = [UInt8](repeating: 0, count: count)
        var index = 0
        while index < count {
            state = state &+ 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            for shift in stride(from: 0, to: 64, by: 8) where index < count {
                result[index] = UInt8(truncatingIfNeeded: z >> UInt64(shift))
                index += 1
            }
        }
        return result
    }

    /// `pwrite` until every byte is written.
    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], at offset: Int64, _ shown: String) throws {
        var done = 0
        while done < bytes.count {
            let written = bytes.withUnsafeBytes { raw in
                pwrite(fd, raw.baseAddress.map { $0 + done }, bytes.count - done, off_t(offset) + off_t(done))
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw HarnessError.system("write", shown)
            }
            done += written
        }
    }
}

/// A source tree under construction: records what it created so that `finish()` can give
/// every entry its own exact time afterwards, deepest first (creating an entry changes its
/// parent's mtime, so times are set only once everything exists).
final class TreeBuilder {
    let root: String
    private var created: [(relative: String, seconds: Int, nanoseconds: Int)] = []
    private var counter = 0

    /// Creates the top directory `root` with `mode`.
    init(_ root: String, mode: mode_t = 0o755) throws {
        self.root = root
        try Fixture.directory(root, mode: mode)
        record("")
    }

    func path(_ relative: String) -> String { relative.isEmpty ? root : root + "/" + relative }

    /// Records an entry with the next distinct time, or `time` if given.
    private func record(_ relative: String, time: (Int, Int)? = nil) {
        counter += 1
        let chosen = time ?? (1_600_000_000 + counter * 86_401, (123_456_789 + counter * 7_777_777) % 1_000_000_000)
        created.append((relative, chosen.0, chosen.1))
    }

    func directory(_ relative: String, mode: mode_t = 0o755, time: (Int, Int)? = nil) throws {
        try Fixture.directory(path(relative), mode: mode)
        record(relative, time: time)
    }

    func file(_ relative: String, _ bytes: [UInt8], mode: mode_t = 0o644, time: (Int, Int)? = nil) throws {
        try Fixture.file(path(relative), bytes, mode: mode)
        record(relative, time: time)
    }

    func file(_ relative: String, text: String, mode: mode_t = 0o644, time: (Int, Int)? = nil) throws {
        try file(relative, Array(text.utf8), mode: mode, time: time)
    }

    func randomFile(_ relative: String, size: Int, seed: UInt64, mode: mode_t = 0o644) throws {
        try Fixture.randomFile(path(relative), size: size, seed: seed, mode: mode)
        record(relative)
    }

    func sparseFile(_ relative: String, size: Int64, regions: [(offset: Int64, bytes: [UInt8])]) throws {
        try Fixture.sparseFile(path(relative), size: size, regions: regions)
        record(relative)
    }

    func symlink(_ relative: String, to target: String) throws {
        try Fixture.symlink(path(relative), to: target)
        record(relative)
    }

    /// Sets every recorded entry's time, deepest first.
    func finish() throws {
        let order = created.enumerated().sorted { lhs, rhs in
            let l = lhs.element.relative.split(separator: "/").count
            let r = rhs.element.relative.split(separator: "/").count
            return l != r ? l > r : lhs.offset > rhs.offset
        }
        for (_, entry) in order {
            try Fixture.setTime(path(entry.relative), seconds: entry.seconds, nanoseconds: entry.nanoseconds)
        }
    }
}

/// The folder of the main round-trip test: every kind of entry the product must carry.
enum StandardTree {
    static let sparseSize: Int64 = 5 << 30
    static let sparseRegion = 2 << 20

    /// Entries the sender must skip (an absolute symlink), relative to the folder.
    static let skipped: Set<EntryPath> = ["absolute-link"]

    /// Builds the folder at `path`. With `sparse`, it holds a 5 GiB sparse file with 2 MiB
    /// of data at 0, at 2 GiB and at the end.
    static func build(at path: String, sparse: Bool = true) throws {
        let tree = try TreeBuilder(path)
        try tree.file("notes.txt", text: "Hello from peershare.\nSecond line.\n")
        try tree.file("empty.bin", [], time: (1_500_000_000, 0))
        try tree.file("private.txt", text: "only the owner and the group\n", mode: 0o640)
        try tree.file("run.sh", text: "#!/bin/sh\necho hi\n", mode: 0o755, time: (1_700_000_000, 999_999_999))
        try tree.file("setuid.bin", text: "setuid and world-writable\n", mode: 0o4777)
        try tree.file("world.txt", text: "world-writable\n", mode: 0o666)
        try tree.directory("empty-dir")
        try tree.directory("group-dir", mode: 0o750)
        try tree.file("group-dir/inside.txt", text: "in a 0750 directory\n")
        try tree.directory("open-dir", mode: 0o777)
        try tree.directory("nested")
        try tree.directory("nested/a")
        try tree.directory("nested/a/b")
        try tree.directory("nested/a/b/c")
        try tree.randomFile("nested/a/b/c/deep.bin", size: 3 << 20 | 12_345, seed: 7)
        try tree.symlink("nested/a/up-link", to: "../../notes.txt")
        try tree.symlink("link-to-deep", to: "nested/a/b/c/deep.bin")
        try tree.symlink("absolute-link", to: "/etc/hostname")
        try tree.file("caf\u{E9}.txt", text: "NFC name\n")
        try tree.directory("日本語")
        try tree.file("日本語/ファイル.txt", text: "日本語のテキスト\n")
        try tree.file("emoji 🎉🐧.txt", text: "party\n")
        if sparse {
            let regions: [(offset: Int64, bytes: [UInt8])] = [
                (0, Fixture.bytes(count: sparseRegion, seed: 1)),
                (2 << 30, Fixture.bytes(count: sparseRegion, seed: 2)),
                (sparseSize - Int64(sparseRegion), Fixture.bytes(count: sparseRegion, seed: 3)),
            ]
            try tree.sparseFile("sparse.img", size: sparseSize, regions: regions)
        }
        try tree.finish()
    }

    /// A small folder with a few files and a subfolder (for tests about the flow, not the
    /// content).
    static func buildSmall(at path: String, seed: UInt64 = 1) throws {
        let tree = try TreeBuilder(path)
        try tree.file("a.txt", text: "first file \(seed)\n")
        try tree.directory("sub")
        try tree.file("sub/b.bin", Fixture.bytes(count: 70_000, seed: seed))
        try tree.file("sub/empty", [])
        try tree.finish()
    }
}
