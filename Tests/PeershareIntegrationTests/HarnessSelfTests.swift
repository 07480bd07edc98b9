import Foundation
import Glibc
import Testing

/// The harness checks itself: a comparison that cannot fail would make every test above
/// pass for nothing. No process is started here.
@Suite("integration harness")
struct HarnessSelfTests {
    @Test("TreeComparison reports each kind of difference")
    func comparisonSeesDifferences() throws {
        let scratch = try Scratch("self")
        defer { scratch.remove() }
        func build(_ name: String) throws -> String {
            let tree = try TreeBuilder(scratch.path(name))
            try tree.file("a.txt", text: "same\n", mode: 0o640)
            try tree.file("b.bin", Fixture.bytes(count: 100_000, seed: 5))
            try tree.directory("d", mode: 0o750)
            try tree.symlink("d/l", to: "../a.txt")
            try tree.file("gone.txt", text: "x\n")
            try tree.finish()
            return tree.root
        }
        let source = try build("source")
        let copy = try build("copy")
        #expect(try TreeComparison.differences(source: source, received: copy).isEmpty)

        // One change of each kind in the copy.
        #expect(chmod(copy + "/a.txt", 0o600) == 0)
        let fd = open(copy + "/b.bin", O_WRONLY)
        #expect(fd >= 0)
        var byte: UInt8 = 0xAA
        #expect(pwrite(fd, &byte, 1, 99_999) == 1)
        close(fd)
        try Fixture.setTime(copy + "/b.bin", seconds: 1_600_000_000 + 86_401 * 3, nanoseconds: 1)
        #expect(unlink(copy + "/d/l") == 0)
        try Fixture.symlink(copy + "/d/l", to: "../b.bin")
        #expect(unlink(copy + "/gone.txt") == 0)
        try Fixture.file(copy + "/extra.txt", text: "extra\n")
        let differences = try TreeComparison.differences(source: source, received: copy)
        let text = differences.joined(separator: "\n")
        #expect(text.contains("a.txt: mode 600"), "\(text)")
        #expect(text.contains("b.bin: content differs"), "\(text)")
        #expect(text.contains("b.bin: mtime"), "\(text)")
        #expect(text.contains("d/l: link target"), "\(text)")
        #expect(text.contains("missing gone.txt"), "\(text)")
        #expect(text.contains("unexpected extra.txt"), "\(text)")
        #expect(text.contains(".: mtime"), "the top directory's time counts too: \(text)")
    }

    @Test("Expected modes: setuid and world-writable bits are dropped, the rest kept")
    func expectedModes() {
        #expect(TreeComparison.expectedMode(0o4777) == 0o775)
        #expect(TreeComparison.expectedMode(0o640) == 0o640)
        #expect(TreeComparison.expectedMode(0o755) == 0o755)
        #expect(TreeComparison.expectedMode(0o2666) == 0o664)
    }

    @Test("sameContents streams sparse files and sees a single byte in a hole")
    func sparseComparison() throws {
        let scratch = try Scratch("self")
        defer { scratch.remove() }
        let size: Int64 = 4 << 30
        let data = Fixture.bytes(count: 1 << 20, seed: 9)
        try Fixture.sparseFile(scratch.path("a"), size: size, regions: [(0, data), (size - (1 << 20), data)])
        try Fixture.sparseFile(scratch.path("b"), size: size, regions: [(0, data), (size - (1 << 20), data)])
        #expect(try sameContents(scratch.path("a"), scratch.path("b")))
        // Explicit zeros in one, a hole in the other: the same content.
        try Fixture.sparseFile(scratch.path("c"), size: size,
                               regions: [(0, data), (3 << 30, [UInt8](repeating: 0, count: 4096)), (size - (1 << 20), data)])
        #expect(try sameContents(scratch.path("a"), scratch.path("c")))
        // One byte inside a hole of the other file.
        try Fixture.sparseFile(scratch.path("d"), size: size, regions: [(0, data), (3 << 30, [1]), (size - (1 << 20), data)])
        #expect(try !sameContents(scratch.path("a"), scratch.path("d")))
        // One byte at the very end.
        var last = data
        last[last.count - 1] ^= 0xFF
        try Fixture.sparseFile(scratch.path("e"), size: size, regions: [(0, data), (size - (1 << 20), last)])
        #expect(try !sameContents(scratch.path("a"), scratch.path("e")))
        // Another size.
        try Fixture.sparseFile(scratch.path("f"), size: size + 1, regions: [(0, data), (size - (1 << 20), data)])
        #expect(try !sameContents(scratch.path("a"), scratch.path("f")))
    }

    @Test("Paths are compared as bytes: NFC and NFD spellings differ")
    func pathsAreBytes() {
        let nfc = EntryPath("caf\u{E9}")
        let nfd = EntryPath("cafe\u{301}")
        #expect("caf\u{E9}" == "cafe\u{301}", "Swift strings call them equal")
        #expect(nfc != nfd)
        #expect(EntryPath("a/b").isWithin("a"))
        #expect(!EntryPath("ab").isWithin("a"))
    }

    @Test("A snapshot sees content, time, mode and inode changes")
    func snapshotChanges() throws {
        let scratch = try Scratch("self")
        defer { scratch.remove() }
        try Fixture.file(scratch.path("f"), text: "one\n")
        try Fixture.setTime(scratch.path("f"), seconds: 1_000_000_000, nanoseconds: 5)
        let before = try TreeSnapshot.take(scratch.root, hashContents: true)
        #expect(try TreeSnapshot.take(scratch.root, hashContents: true).changes(since: before).isEmpty)
        // Same size, same time, other bytes.
        let fd = open(scratch.path("f"), O_WRONLY)
        #expect(fd >= 0)
        #expect(pwrite(fd, "two\n", 4, 0) == 4)
        close(fd)
        try Fixture.setTime(scratch.path("f"), seconds: 1_000_000_000, nanoseconds: 5)
        let changes = try TreeSnapshot.take(scratch.root, hashContents: true).changes(since: before)
        #expect(changes.count == 1 && changes[0].hasPrefix("changed f"), "\(changes)")
    }
}
