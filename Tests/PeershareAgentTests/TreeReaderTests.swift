import Foundation
import Glibc
import PeershareAgent
import PeershareCore
import Testing
import PeershareTransfer

/// The sending side: what `send` offers for a given set of paths, and how file data is read.
@Suite struct TreeReaderTests {
    /// src/ with: B, a/z.bin (empty), a.txt, abs-link -> /etc/passwd, bad\u{1}name,
    /// empty/, fifo, rel-link -> a.txt.
    private func makeSampleTree(_ root: String) throws -> String {
        let src = root + "/src"
        let fm = FileManager.default
        try fm.createDirectory(atPath: src + "/a", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: src + "/empty", withIntermediateDirectories: false)
        makeFile(src + "/B", Array("upper".utf8), mtime: (1_500_000_000, 123_456_789))
        makeFile(src + "/a/z.bin", [])
        makeFile(src + "/a.txt", Array("hello".utf8))
        makeFile(src + "/bad\u{1}name", [1])
        try fm.createSymbolicLink(atPath: src + "/abs-link", withDestinationPath: "/etc/passwd")
        try fm.createSymbolicLink(atPath: src + "/rel-link", withDestinationPath: "a.txt")
        #expect(mkfifo(src + "/fifo", 0o644) == 0)
        _ = chmod(src + "/a.txt", 0o4640)
        return src
    }

    @Test func planOfSampleTree() throws {
        try withScratchDirectory { root in
            let src = try makeSampleTree(root)
            let plan = try TreeReader.plan(paths: [src + "/"])

            #expect(plan.entries.map(\.path.string) == [
                "src", "src/B", "src/a", "src/a/z.bin", "src/a.txt", "src/empty", "src/rel-link",
            ])
            #expect(plan.entries.map(\.kind) == [.directory, .file, .directory, .file, .file, .directory, .symlink])
            #expect(plan.sources == [
                src, src + "/B", src + "/a", src + "/a/z.bin", src + "/a.txt", src + "/empty", src + "/rel-link",
            ])
            #expect(plan.fileCount == 3)
            #expect(plan.directoryCount == 3)
            #expect(plan.symlinkCount == 1)
            #expect(plan.totalBytes == 10)
            #expect(plan.topLevelNames == ["src"])
            #expect(plan.entries[6].linkTarget == "a.txt")
            #expect(plan.entries[4].mode == 0o4640)
            #expect(plan.entries[1].mtimeSeconds == 1_500_000_000 && plan.entries[1].mtimeNanoseconds == 123_456_789)

            #expect(plan.warnings.count == 3)
            #expect(plan.warnings.count == 3 && plan.warnings[0].contains("abs-link") && plan.warnings[0].contains("/etc/passwd"))
            #expect(plan.warnings.count == 3 && plan.warnings[1].contains("bad\\x01name"))
            #expect(plan.warnings.count == 3 && plan.warnings[2].contains("src/fifo") && plan.warnings[2].contains("FIFO"))
            #expect(!plan.warnings.joined().contains("\u{1}"))
        }
    }

    /// A directory that takes several `readdir` buffers (3,000 names of 6 to 45 bytes, about
    /// 140 KiB of records): every name comes back whole and once, in byte order. Under
    /// AddressSanitizer (`make sanitize`) this also checks that a listing reads no byte past
    /// glibc's buffer, which copying the last `struct dirent` of a buffer did.
    @Test func planOfDirectorySpanningManyReaddirBuffers() throws {
        try withScratchDirectory { root in
            let src = root + "/big"
            #expect(mkdir(src, 0o755) == 0)
            let names = (0..<3000).map { "f\($0)-" + String(repeating: "n", count: $0 % 40) }
            for name in names {
                let fd = open(src + "/" + name, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
                #expect(fd >= 0)
                if fd >= 0 { close(fd) }
            }
            let plan = try TreeReader.plan(paths: [src])

            let expected = ["big"] + names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }.map { "big/" + $0 }
            #expect(plan.entries.map(\.path.string) == expected)
            #expect(plan.fileCount == 3000)
            #expect(plan.warnings.isEmpty)
        }
    }

    /// The top-level directory's subtrees are planned on two threads and spliced back: the
    /// plan must still be exactly the depth-first, byte-sorted walk, warnings in that order.
    @Test func planOfManySubdirectoriesKeepsTreeOrder() throws {
        try withScratchDirectory { root in
            let src = root + "/many"
            let fm = FileManager.default
            for index in 0..<7 {
                let dir = src + "/d\(index)"
                try fm.createDirectory(atPath: dir + "/sub/deeper", withIntermediateDirectories: true)
                for file in 0..<(3 + index) { makeFile(dir + "/f\(file).txt", Array(repeating: UInt8(file), count: index + file)) }
                makeFile(dir + "/sub/deeper/leaf", [UInt8(index)])
                if index % 3 == 1 { #expect(mkfifo(dir + "/sub/pipe", 0o644) == 0) }
                makeFile(src + "/between\(index).txt", [1, 2, 3])
            }
            try fm.createSymbolicLink(atPath: src + "/d2/sub/link", withDestinationPath: "../f0.txt")

            // The reference: a plain recursive walk, children sorted by their bytes.
            var expected: [String] = []
            func visit(_ path: String, _ relative: String) throws {
                expected.append(relative)
                var info = stat()
                guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { return }
                let names = try fm.contentsOfDirectory(atPath: path).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
                for name in names {
                    var child = stat()
                    guard lstat(path + "/" + name, &child) == 0, child.st_mode & S_IFMT != S_IFIFO else { continue }
                    try visit(path + "/" + name, relative + "/" + name)
                }
            }
            try visit(src, "many")

            let plan = try TreeReader.plan(paths: [src])
            #expect(plan.entries.map(\.path.string) == expected)
            #expect(plan.sources == expected.map { root + "/" + $0 })
            #expect(plan.fileCount == UInt64(expected.filter { $0.hasSuffix(".txt") || $0.hasSuffix("leaf") }.count))
            #expect(plan.directoryCount == 1 + 7 * 3)
            #expect(plan.symlinkCount == 1)
            #expect(plan.totalBytes == plan.entries.reduce(0) { $0 + $1.size })
            #expect(plan.warnings.count == 2)
            #expect(plan.warnings.count == 2 && plan.warnings[0].contains("many/d1/sub/pipe") && plan.warnings[1].contains("many/d4/sub/pipe"))
        }
    }

    /// The receiver takes canonically equal names for one name, so the sender keeps the
    /// first of them (in byte order) and warns about the rest. A directory of ASCII names
    /// skips the comparison; one non-ASCII name turns it on for all of them, because some
    /// non-ASCII names equal ASCII ones (U+212A KELVIN SIGN is "K").
    @Test func planSkipsCanonicallyEqualNames() throws {
        try withScratchDirectory { root in
            let src = root + "/src"
            for directory in ["ascii", "forms", "kelvin"] {
                try FileManager.default.createDirectory(atPath: src + "/" + directory, withIntermediateDirectories: true)
            }
            for name in ["K", "k", "a", "A", "b.txt", "b.TXT"] { makeFile(src + "/ascii/" + name, [1]) }
            makeFile(src + "/forms/caf\u{E9}", [1])
            makeFile(src + "/forms/cafe\u{301}", [2])
            makeFile(src + "/kelvin/K", [1])
            makeFile(src + "/kelvin/\u{212A}", [2])
            let plan = try TreeReader.plan(paths: [src])
            // Compared as bytes: String equality would take either spelling for the other.
            let paths = Set(plan.entries.map { Array($0.path.string.utf8) })
            func has(_ path: String) -> Bool { paths.contains(Array(path.utf8)) }
            #expect(["A", "K", "a", "k", "b.TXT", "b.txt"].allSatisfy { has("src/ascii/" + $0) })
            #expect(has("src/forms/cafe\u{301}"))  // NFD sorts first: "e" < "\u{E9}"
            #expect(!has("src/forms/caf\u{E9}"))
            #expect(has("src/kelvin/K"))
            #expect(!has("src/kelvin/\u{212A}"))
            #expect(plan.fileCount == 8)
            #expect(plan.warnings.count == 2)
            #expect(plan.warnings.allSatisfy { $0.contains("Unicode normalization") })
            #expect(plan.warnings.contains { $0.unicodeScalars.contains("\u{212A}") })
            #expect(plan.warnings.contains { $0.unicodeScalars.contains("\u{E9}") })
        }
    }

    @Test func argumentsNamesAndDuplicates() throws {
        try withScratchDirectory { root in
            let src = try makeSampleTree(root)
            try FileManager.default.createDirectory(atPath: root + "/other", withIntermediateDirectories: false)
            makeFile(root + "/other/a.txt", [1])
            try FileManager.default.createSymbolicLink(atPath: root + "/shortcut", withDestinationPath: src + "/a.txt")

            let dot = try TreeReader.plan(paths: [src + "/a/."])
            #expect(dot.topLevelNames == ["a"])
            #expect(dot.entries.map(\.path.string) == ["a", "a/z.bin"])

            // A top-level symlink is followed and keeps its own name.
            let link = try TreeReader.plan(paths: [root + "/shortcut", src + "/B"])
            #expect(link.topLevelNames == ["shortcut", "B"])
            #expect(link.entries.map(\.kind) == [.file, .file])
            #expect(link.sources == [src + "/a.txt", src + "/B"])
            #expect(link.totalBytes == 10)

            let duplicate = #expect(throws: SendError.self) {
                try TreeReader.plan(paths: [src + "/a.txt", root + "/other/a.txt"])
            }
            #expect(duplicate?.code == .duplicateName)
            #expect(duplicate?.message.contains("other/a.txt") == true)

            let missing = #expect(throws: SendError.self) { try TreeReader.plan(paths: [root + "/nope"]) }
            #expect(missing?.code == .notFound)
            let fifo = #expect(throws: SendError.self) { try TreeReader.plan(paths: [src + "/fifo"]) }
            #expect(fifo?.code == .unsupportedType)
            let badName = #expect(throws: SendError.self) { try TreeReader.plan(paths: [src + "/bad\u{1}name"]) }
            #expect(badName?.code == .invalidName)
        }
    }

    @Test func fileSourceReportsHolesAndData() throws {
        try withScratchDirectory { root in
            let path = root + "/sparse.bin"
            let size: UInt64 = 4 << 20
            let fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0o644)
            try #require(fd >= 0)
            let block = [UInt8](repeating: 0x5A, count: 4096)
            // Data at 0, a 12 KiB hole (read as data), data at 16 KiB, a big hole, data at 2 MiB, trailing hole.
            for offset in [0, 16384, 2 << 20] {
                _ = block.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
            }
            #expect(ftruncate(fd, off_t(size)) == 0)
            close(fd)

            let source = try FileSource(path: path, expectedSize: size)
            defer { source.close() }
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            var pieces: [FilePiece] = []
            var content: [UInt8: UInt64] = [:]
            while true {
                let piece = try buffer.withUnsafeMutableBytes { raw throws(SendError) in try source.next(into: raw) }
                pieces.append(piece)
                if case .data(let count) = piece {
                    for byte in buffer[0..<count] { content[byte, default: 0] += 1 }
                }
                if piece == .end || pieces.count > 1000 { break }
            }
            #expect(pieces.first == .data(20480))
            #expect(pieces.contains(.hole((2 << 20) - 20480)))
            #expect(pieces.last == .end)
            let total = pieces.reduce(UInt64(0)) { sum, piece in
                switch piece {
                case .data(let count): sum + UInt64(count)
                case .hole(let length): sum + length
                case .end: sum
                }
            }
            #expect(total == size)
            #expect(content[0x5A, default: 0] == 3 * 4096)  // default: works around a Swift 6.3.1 ASan stack overflow in Optional comparison
            #expect(pieces.allSatisfy { if case .hole(let length) = $0 { length >= FileSource.minimumHole } else { true } })
        }
    }

    @Test func fileSourceDetectsChangedFiles() throws {
        try withScratchDirectory { root in
            let path = root + "/f"
            makeFile(path, [UInt8](repeating: 1, count: 100))
            let wrongSize = #expect(throws: SendError.self) { try FileSource(path: path, expectedSize: 99) }
            #expect(wrongSize?.code == .changedWhileSending)

            let source = try FileSource(path: path, expectedSize: 100)
            defer { source.close() }
            #expect(truncate(path, 50) == 0)
            var buffer = [UInt8](repeating: 0, count: 4096)
            let shrunk = #expect(throws: SendError.self) {
                for _ in 0..<4 {
                    _ = try buffer.withUnsafeMutableBytes { raw throws(SendError) in try source.next(into: raw) }
                }
            }
            #expect(shrunk?.code == .changedWhileSending)

            try FileManager.default.createSymbolicLink(atPath: root + "/link", withDestinationPath: path)
            let viaLink = #expect(throws: SendError.self) { try FileSource(path: root + "/link", expectedSize: 50) }
            #expect(viaLink?.code == .io)
        }
    }
}
