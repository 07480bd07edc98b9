import Foundation
import Glibc
import Testing

/// What a transfer may and may not touch at the destination.
extension EndToEnd {
    @Test("A file and a folder already in the inbox stay untouched; the new ones arrive as \"report (2).txt\" and \"photos (2)\"")
    func existingNamesAreKept() async throws {
        let scratch = try Self.scratch("exist")
        defer { scratch.remove() }
        let sources = try scratch.directory("src")
        try Fixture.file(sources + "/report.txt", text: "the new report\n", mode: 0o640)
        try Fixture.setTime(sources + "/report.txt", seconds: 1_650_000_000, nanoseconds: 424_242_424)
        try StandardTree.buildSmall(at: sources + "/photos", seed: 9)

        // The inbox already holds both names, with other content and other times.
        let inbox = try scratch.directory("recv.inbox")
        try Fixture.file(inbox + "/report.txt", text: "the OLD report, keep me\n")
        try Fixture.setTime(inbox + "/report.txt", seconds: 1_400_000_000, nanoseconds: 111_111_111)
        let oldPhotos = try TreeBuilder(inbox + "/photos")
        try oldPhotos.file("old.jpg", Fixture.bytes(count: 5_000, seed: 77))
        try oldPhotos.directory("sub")
        try oldPhotos.file("sub/b.bin", text: "same relative path as in the new folder, other bytes\n")
        try oldPhotos.finish()
        let oldReport = try TreeSnapshot.take(inbox + "/report.txt", hashContents: true)
        let oldFolder = try TreeSnapshot.take(inbox + "/photos", hashContents: true)

        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root, inbox: inbox)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "grace", in: scratch.root)
        let send = try sender.startSend([sources + "/report.txt", sources + "/photos"], to: receiver)
        let result = try await finishWithCode(send, on: receiver)
        #expect(result.exited(0), "\(result)\n\(receiver.transcript)")

        #expect(receiver.inboxNames() == ["photos", "photos (2)", "report (2).txt", "report.txt"])
        let reportChanges = try TreeSnapshot.take(inbox + "/report.txt", hashContents: true).changes(since: oldReport)
        #expect(reportChanges.isEmpty, "the existing file changed:\n\(reportChanges.joined(separator: "\n"))")
        let folderChanges = try TreeSnapshot.take(inbox + "/photos", hashContents: true).changes(since: oldFolder)
        #expect(folderChanges.isEmpty, "the existing folder changed:\n\(folderChanges.joined(separator: "\n"))")
        try expectSameTree(sources + "/report.txt", inbox + "/report (2).txt")
        try expectSameTree(sources + "/photos", inbox + "/photos (2)")
    }

    @Test("Tricky names and a symlink planted in the inbox: nothing outside the inbox changes, and only safe entries arrive")
    func nothingOutsideTheInboxChanges() async throws {
        let scratch = try Self.scratch("outside")
        defer { scratch.remove() }
        // Things a confused receiver could reach: a folder next to the inbox.
        let outside = try TreeBuilder(scratch.path("outside"))
        try outside.file("secret.txt", text: "do not touch\n")
        try outside.directory("dir")
        try outside.file("dir/keep.txt", text: "keep\n")
        try outside.finish()

        let source = try scratch.directory("src") + "/tricky"
        try TrickyTree.build(at: source, outside: scratch.path("outside"))

        // The inbox already holds a symlink named like the folder we send, pointing outside.
        let inbox = try scratch.directory("recv.inbox")
        try Fixture.symlink(inbox + "/tricky", to: "../outside")
        let plantedBefore = try lstatBytes(Array((inbox + "/tricky").utf8))

        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root, inbox: inbox)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "eve", in: scratch.root)
        _ = try await sender.fingerprint()  // creates the sender's state before the snapshot
        let excluded: Set<EntryPath> = ["recv.inbox", "recv.home", "eve.home"]
        let before = try TreeSnapshot.take(scratch.root, excluding: excluded, hashContents: true)

        let send = try sender.startSend([source], to: receiver)
        let result = try await finishWithCode(send, on: receiver)
        #expect(result.exited(12), "entries were left out: \(result)\n\(receiver.transcript)")
        #expect(result.events("done").last?.leftOut == UInt64(TrickyTree.mustSkip.count), "\(result.stdout)")

        let after = try TreeSnapshot.take(scratch.root, excluding: excluded, hashContents: true)
        let changes = after.changes(since: before)
        #expect(changes.isEmpty, "outside the inbox:\n\(changes.joined(separator: "\n"))")
        #expect(try lstatBytes(Array((inbox + "/tricky").utf8)) == plantedBefore, "the planted symlink changed")
        #expect(receiver.inboxNames() == ["tricky", "tricky (2)"])
        try expectSameTree(source, inbox + "/tricky (2)", skipped: TrickyTree.mustSkip)
        let warnings = result.events("warning")
        #expect(warnings.count == TrickyTree.mustSkip.count,
                "each skipped entry should be announced: \(warnings.compactMap(\.message))")
    }
}

/// A folder of names and links that a careless sender or receiver gets wrong.
enum TrickyTree {
    static let invalidUTF8: [UInt8] = Array("bad-".utf8) + [0xFF, 0xFE] + Array(".txt".utf8)

    /// Entries the sender must leave out (refused names, special files, symlinks leaving
    /// the tree). Everything else in the folder must arrive unchanged.
    static let mustSkip: Set<EntryPath> = [
        "...", "back\\slash.txt", "trailing space ", "trailing dot.", "\u{202E}gnp.txt", "esc\u{1B}[1A",
        "new\nline", "tab\there", EntryPath(bytes: invalidUTF8), "fifo",
        "escape", "sub/escape2", "absolute",
    ]

    static func build(at path: String, outside: String) throws {
        let tree = try TreeBuilder(path)
        for name in ["..a", ".hidden", "-rf", " leading space.txt", "star*?.txt", "colon:name.txt",
                     "CON", "nul.txt", "$HOME", "~", "quote'\"<>|name", "percent%s%n", "nfd-cafe\u{301}.txt"] {
            try tree.file(name, text: "content of \(name)\n")
        }
        try tree.directory("dir with spaces")
        try tree.file("dir with spaces/inner.txt", text: "inner\n")
        try tree.directory("outside")
        try tree.file("outside/secret.txt", text: "a folder of the tree named like the one next to the inbox\n")
        try tree.symlink("inside", to: ".hidden")
        try tree.directory("sub")
        try tree.symlink("sub/up", to: "../..a")
        // To be skipped (a name ending in a dot or a space is refused by the path rules):
        for name in ["...", "back\\slash.txt", "trailing space ", "trailing dot.", "\u{202E}gnp.txt", "esc\u{1B}[1A", "new\nline", "tab\there"] {
            try tree.file(name, text: "refused name\n")
        }
        try Fixture.file(Array((path + "/").utf8) + invalidUTF8, Array("not UTF-8\n".utf8))
        guard mkfifo(path + "/fifo", 0o644) == 0 else { throw HarnessError.system("mkfifo", path + "/fifo") }
        try tree.symlink("escape", to: "../../outside")
        try tree.symlink("sub/escape2", to: "../../outside/secret.txt")
        try tree.symlink("absolute", to: outside + "/secret.txt")
        try tree.finish()
    }
}
