import Foundation
import Glibc
import PeershareAgent
import PeershareCore
import Testing
import PeershareTransfer

/// A whole tree written through `OfferWriter` matches what was declared, byte for byte,
/// with masked modes and nanosecond times.
@Suite struct OfferWriterTreeTests {
    @Test func writesTreeWithDeclaredBytesModesAndTimes() throws {
        try withScratchDirectory { root in
            let inbox = try InboxDirectory(path: root + "/inbox")
            let writer = OfferWriter(inbox: inbox, transferID: "t1")

            let hello = Array("hello\n".utf8)
            let headBytes = [UInt8](repeating: 0x41, count: 1000)
            let midBytes = [UInt8](repeating: 0x42, count: 1000)
            let sparseSize: UInt64 = 300_000

            let entries: [(Entry, [UInt8]?)] = [
                (try makeEntry(.directory, "tree", mode: 0o755, mtime: (1_600_000_000, 123_456_789)), nil),
                (try makeEntry(.directory, "tree/empty", mode: 0o750, mtime: (1_500_000_001, 1)), nil),
                (try makeEntry(.file, "tree/zero", size: 0, mode: 0o644, mtime: (1_400_000_000, 999_999_999)), []),
                (try makeEntry(.directory, "tree/sub", mode: 0o700, mtime: (1_300_000_000, 500)), nil),
                (try makeEntry(.file, "tree/sub/data.txt", size: UInt64(hello.count), mode: 0o640,
                               mtime: (1_200_000_000, 42)), hello),
                (try makeEntry(.symlink, "tree/sub/link", mtime: (1_100_000_000, 7), target: "data.txt"), nil),
                (try makeEntry(.symlink, "tree/up", mtime: (1_100_000_001, 8), target: "sub/data.txt"), nil),
            ]
            for (entry, bytes) in entries {
                if let bytes {
                    try writer.writeFile(entry, bytes)
                } else {
                    try writer.begin(entry)
                }
            }
            // A file with a hole in the middle and a trailing hole (needs ftruncate).
            let sparse = try makeEntry(.file, "tree/sparse", size: sparseSize, mode: 0o600, mtime: (1_000_000_000, 3))
            try writer.begin(sparse)
            try writer.write(headBytes)
            try writer.skipHole(200_000)
            try writer.write(midBytes)
            try writer.skipHole(sparseSize - 202_000)
            try writer.finishFile()
            try writer.finishAll()

            let base = root + "/inbox/"
            #expect(writer.placedTopLevelNames == ["tree"])
            #expect(writer.filesCompleted == 3)
            #expect(writer.bytesWritten == UInt64(hello.count) + sparseSize)
            #expect(treeOf(root + "/inbox") == [
                "tree", "tree/empty", "tree/sparse", "tree/sub", "tree/sub/data.txt", "tree/sub/link", "tree/up", "tree/zero",
            ])
            #expect(tempFilesIn(root + "/inbox").isEmpty)

            #expect(contentsOf(base + "tree/sub/data.txt") == hello)
            #expect(contentsOf(base + "tree/zero") == [])
            var expectedSparse = [UInt8](repeating: 0, count: Int(sparseSize))
            expectedSparse.replaceSubrange(0..<1000, with: headBytes)
            expectedSparse.replaceSubrange(201_000..<202_000, with: midBytes)
            #expect(contentsOf(base + "tree/sparse") == expectedSparse)
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: base + "tree/sub/link") == "data.txt")
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: base + "tree/up") == "sub/data.txt")

            for (entry, _) in entries + [(sparse, nil)] {
                let info = try #require(lstatOf(base + entry.path.string), "\(entry.path)")
                #expect(info.st_mtim.tv_sec == Int(entry.mtimeSeconds), "\(entry.path)")
                #expect(info.st_mtim.tv_nsec == Int(entry.mtimeNanoseconds), "\(entry.path)")
                switch entry.kind {
                case .symlink:
                    #expect(info.st_mode & S_IFMT == S_IFLNK)
                case .directory:
                    #expect(info.st_mode & S_IFMT == S_IFDIR)
                    #expect(UInt32(info.st_mode) & 0o7777 == PathRules.safeMode(entry.mode, kind: .directory), "\(entry.path)")
                case .file:
                    #expect(info.st_mode & S_IFMT == S_IFREG)
                    #expect(UInt64(info.st_size) == entry.size)
                    #expect(UInt32(info.st_mode) & 0o7777 == PathRules.safeMode(entry.mode, kind: .file), "\(entry.path)")
                }
            }
        }
    }

    @Test func modesAreMaskedNeverSetuidOrWorldWritable() throws {
        try withScratchDirectory { root in
            let inbox = try InboxDirectory(path: root + "/inbox")
            let writer = OfferWriter(inbox: inbox, transferID: "modes")
            try writer.begin(try makeEntry(.directory, "d", mode: 0o7777))
            try writer.writeFile(try makeEntry(.file, "d/suid", size: 1, mode: 0o4777), [1])
            try writer.writeFile(try makeEntry(.file, "d/sgid", size: 1, mode: 0o2666), [2])
            try writer.writeFile(try makeEntry(.file, "d/none", size: 1, mode: 0o000), [3])
            try writer.finishAll()

            let expected: [(String, mode_t)] = [("d", 0o775), ("d/suid", 0o775), ("d/sgid", 0o664), ("d/none", 0o600)]
            for (path, mode) in expected {
                let info = try #require(lstatOf(root + "/inbox/" + path))
                #expect(info.st_mode & 0o7777 == mode, "\(path)")
                #expect(info.st_mode & (S_ISUID | S_ISGID | S_ISVTX | 0o002) == 0, "\(path)")
            }
        }
    }

    /// The umask as a child shell reports it (it inherits ours), independent of how the
    /// agent reads it.
    static func shellUmask() throws -> mode_t {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "umask"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return try #require(mode_t(text.trimmingCharacters(in: .whitespacesAndNewlines), radix: 8))
    }

    /// A temp file whose final mode the umask leaves whole is created with that mode (no
    /// `fchmod` later); otherwise it is created 0600 and gets its mode at the end. Either
    /// way the finished file has exactly `PathRules.safeMode`.
    @Test(arguments: [0o644, 0o640, 0o600, 0o664, 0o666, 0o755, 0o777])
    func tempFileModeAndFinalMode(_ declared: Int) throws {
        let umask = try Self.shellUmask()
        try withScratchDirectory { root in
            let inbox = try InboxDirectory(path: root + "/inbox")
            let writer = OfferWriter(inbox: inbox, transferID: "umask")
            try writer.begin(try makeEntry(.directory, "d", mode: 0o755))
            // Above the 64 KiB limit of nameless (O_TMPFILE) files, so it has a temp name.
            let entry = try makeEntry(.file, "d/f", size: 70_000, mode: UInt32(declared))
            try writer.begin(entry)
            try writer.write([7])
            let temps = namesIn(root + "/inbox/d").filter { $0.hasPrefix(".peershare-") }
            #expect(temps.count == 1)
            let final = PathRules.safeMode(UInt32(declared), kind: .file)
            let whileWriting = try #require(lstatOf(root + "/inbox/d/" + (temps.first ?? "")))
            let expectedWhileWriting = final & ~UInt32(umask) == final ? final : 0o600
            #expect(UInt32(whileWriting.st_mode) & 0o7777 == expectedWhileWriting,
                    "declared \(String(declared, radix: 8)), umask \(String(umask, radix: 8))")
            try writer.write([UInt8](repeating: 8, count: 69_999))
            try writer.finishFile()
            // A small file (nameless until linked) gets the same final mode.
            try writer.writeFile(try makeEntry(.file, "d/small", size: 1, mode: UInt32(declared)), [1])
            try writer.finishAll()
            let done = try #require(lstatOf(root + "/inbox/d/f"))
            #expect(UInt32(done.st_mode) & 0o7777 == final)
            let small = try #require(lstatOf(root + "/inbox/d/small"))
            #expect(UInt32(small.st_mode) & 0o7777 == final)
        }
    }

    @Test func inboxIsCreatedWith0700AndReportsSpaceAndNames() throws {
        try withScratchDirectory { root in
            let inbox = try InboxDirectory(path: root + "/a/b/inbox")
            #expect(try #require(lstatOf(root + "/a/b/inbox")).st_mode & 0o777 == 0o700)
            #expect(try inbox.availableBytes() > 0)
            makeFile(root + "/a/b/inbox/present", [1])
            #expect(inbox.exists("present"))
            #expect(!inbox.exists("absent"))
            #expect(!inbox.exists("../b"))

            let missing = #expect(throws: InboxError.self) {
                try InboxDirectory(path: root + "/nothing/here", createIfMissing: false)
            }
            #expect(missing?.code == .io)
            makeFile(root + "/plain", [1])
            let notDirectory = #expect(throws: InboxError.self) { try InboxDirectory(path: root + "/plain") }
            #expect(notDirectory?.code == .notADirectory)
        }
    }
}
