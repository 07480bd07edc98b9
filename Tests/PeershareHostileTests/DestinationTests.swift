import Foundation
import Glibc
import PeershareCore
import Testing

/// What is already in the destination (hostile-inputs.md items 10, 12, 13): existing files
/// and folders, symlinks planted in the inbox, and a directory swapped for a symlink while
/// the transfer runs.
@Suite("Existing destination entries and symlink races", .serialized, .lab("dest"))
struct DestinationTests {
    @Test("An existing file is never overwritten: the new one gets a free name (item 10)")
    func existingFile() async throws {
        let lab = try #require(Lab.current)
        // A second taken name, made by the test, so the agent must go on to " (3)".
        try writeFile(lab.inbox + "/existing (2).txt", Array("also taken\n".utf8))
        let takenBefore = NodeInfo.read(Array((lab.inbox + "/existing (2).txt").utf8))
        let probe = lab.begin("item 10 existing file")
        let session = try await lab.hostile.openAccepted(port: lab.port, offer: Raw.offer(files: 1, total: 4, names: ["existing.txt"]))
        try await session.perform([.message(Raw.file("existing.txt", size: 4)), .message(Raw.data(Array("new\n".utf8))),
                                   .final(Raw.end(files: 1, bytes: 4))])
        let outcome = await session.finalAnswer()
        session.close()
        guard case .done = outcome else {
            Issue.record("\(probe.label): expected DONE, got \(outcome)")
            await lab.finish(probe, outcome: outcome, expect: .checkedByTest)
            return
        }
        #expect(NodeInfo.read(Array((lab.inbox + "/existing (2).txt").utf8)) == takenBefore, "existing (2).txt changed")
        #expect(readFileBytes(lab.inbox + "/existing (3).txt") == Array("new\n".utf8))
        await lab.finish(probe, outcome: outcome, expect: .exactly([Array("existing (3).txt".utf8)]))
    }

    @Test("An existing folder is never merged into: the new tree gets a free name (item 10)")
    func existingFolder() async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("item 10 existing folder")
        let session = try await lab.hostile.openAccepted(
            port: lab.port, offer: Raw.offer(files: 1, directories: 1, total: 4, names: ["existingdir"]))
        try await session.perform([.message(Raw.directory("existingdir")), .message(Raw.file("existingdir/inner.txt", size: 4)),
                                   .message(Raw.data(Array("new\n".utf8))), .final(Raw.end(files: 1, bytes: 4))])
        let outcome = await session.finalAnswer()
        session.close()
        guard case .done = outcome else {
            Issue.record("\(probe.label): expected DONE, got \(outcome)")
            await lab.finish(probe, outcome: outcome, expect: .checkedByTest)
            return
        }
        #expect(readFileBytes(lab.inbox + "/existingdir (2)/inner.txt") == Array("new\n".utf8))
        await lab.finish(probe, outcome: outcome,
                         expect: .exactly([Array("existingdir (2)".utf8), Array("existingdir (2)/inner.txt".utf8)]))
    }

    @Test("A file named like an existing folder, and a folder named like an existing file, get free names (item 10)",
          arguments: [0, 1])
    func existingOfTheOtherKind(_ variant: Int) async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin(variant == 0 ? "item 10 file named like existingdir" : "item 10 folder named like existing.txt")
        let name = variant == 0 ? "existingdir" : "existing.txt"
        let steps: [Step] = variant == 0
            ? [.message(Raw.file(name, size: 1)), .message(Raw.data([9])), .final(Raw.end(files: 1, bytes: 1))]
            : [.message(Raw.directory(name)), .message(Raw.file(name + "/x", size: 1)), .message(Raw.data([9])),
               .final(Raw.end(files: 1, bytes: 1))]
        let session = try await lab.hostile.openAccepted(
            port: lab.port, offer: Raw.offer(files: 1, directories: UInt64(variant), total: 1, names: [name]))
        try await session.perform(steps)
        let outcome = await session.finalAnswer()
        session.close()
        guard case .done = outcome else {
            Issue.record("\(probe.label): expected DONE, got \(outcome)")
            await lab.finish(probe, outcome: outcome, expect: .checkedByTest)
            return
        }
        let expected = variant == 0 ? ["existingdir (2)"] : ["existing.txt (2)", "existing.txt (2)/x"]
        await lab.finish(probe, outcome: outcome, expect: .exactly(Set(expected.map { Array($0.utf8) })))
    }

    @Test("A taken 255-byte name gets a free name of at most 255 bytes (item 10, item 6)", arguments: [false, true])
    func longTakenName(_ isDirectory: Bool) async throws {
        let lab = try #require(Lab.current)
        let name = String(repeating: "\u{E9}", count: 125) + (isDirectory ? "dirs" : "x.txt")  // 250 + 4 or 5 bytes
        let taken = lab.inbox + "/" + name
        try writeFile(taken, Array("taken\n".utf8))
        let takenBefore = NodeInfo.read(Array(taken.utf8))
        let probe = lab.begin("item 10 taken \(name.utf8.count)-byte \(isDirectory ? "folder" : "file") name")
        let steps: [Step] = isDirectory
            ? [.message(Raw.directory(name)), .message(Raw.file(name + "/x", size: 1)), .message(Raw.data([7])),
               .final(Raw.end(files: 1, bytes: 1))]
            : [.message(Raw.file(name, size: 1)), .message(Raw.data([7])), .final(Raw.end(files: 1, bytes: 1))]
        let session = try await lab.hostile.openAccepted(
            port: lab.port, offer: Raw.offer(files: 1, directories: isDirectory ? 1 : 0, total: 1, names: [name]))
        try await session.perform(steps)
        let outcome = await session.finalAnswer()
        session.close()
        #expect(NodeInfo.read(Array(taken.utf8)) == takenBefore, "the taken name changed")
        guard case .done = outcome else {
            Issue.record("\(probe.label): expected DONE under a free name, got \(outcome)")
            await lab.finish(probe, outcome: outcome, expect: .checkedByTest)
            return
        }
        let created = lab.newEntries(since: probe)
        let top = created.keys.filter { !$0.contains(UInt8(ascii: "/")) }
        #expect(top.count == 1 && top.allSatisfy { $0.count <= 255 && $0 != Array(name.utf8) },
                "new top-level names: \(top.map(shown))")
        await lab.finish(probe, outcome: outcome, expect: .checkedByTest)
    }

    /// (label, offered top-level name, entries after the OFFER, expected new inbox entries)
    static let plantedSymlinkCases: [(String, String, [[UInt8]], [String])] = [
        ("a folder named like the planted link inbox/link -> ../outside", "link",
         [Raw.directory("link"), Raw.file("link/x", size: 3), Raw.data(Array("abc".utf8))], ["link (2)", "link (2)/x"]),
        ("a file named like the planted link", "link",
         [Raw.file("link", size: 3), Raw.data(Array("abc".utf8))], ["link (2)"]),
        ("a file named like the dangling link inbox/dangling -> ../outside/absent", "dangling",
         [Raw.file("dangling", size: 3), Raw.data(Array("abc".utf8))], ["dangling (2)"]),
        ("a folder named like the dangling link", "dangling",
         [Raw.directory("dangling"), Raw.file("dangling/x", size: 3), Raw.data(Array("abc".utf8))], ["dangling (2)", "dangling (2)/x"]),
    ]

    @Test("Symlinks already in the inbox are never followed (item 12)", arguments: 0..<4)
    func plantedSymlinks(_ index: Int) async throws {
        let lab = try #require(Lab.current)
        let (label, top, entries, expected) = Self.plantedSymlinkCases[index]
        let probe = lab.begin("item 12 \(label)")
        let directories: UInt64 = entries.contains { $0[1] == 2 } ? 1 : 0
        let session = try await lab.hostile.openAccepted(
            port: lab.port, offer: Raw.offer(files: 1, directories: directories, total: 3, names: [top]))
        try await session.perform(entries.map { .message($0) } + [.final(Raw.end(files: 1, bytes: 3))])
        let outcome = await session.finalAnswer()
        session.close()
        #expect(NodeInfo.read(Array((lab.outside + "/absent").utf8)) == nil, "\(probe.label): wrote through the dangling link")
        #expect(NodeInfo.read(Array((lab.outside + "/x").utf8)) == nil, "\(probe.label): wrote through the link")
        guard case .done = outcome else {
            Issue.record("\(probe.label): expected DONE under a free name beside the link, got \(outcome)")
            await lab.finish(probe, outcome: outcome, expect: .checkedByTest)
            return
        }
        await lab.finish(probe, outcome: outcome, expect: .exactly(Set(expected.map { Array($0.utf8) })))
    }

    /// Waits until `path` exists (as anything), up to 5 s.
    static func waitForPath(_ path: String) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            if NodeInfo.read(Array(path.utf8)) != nil { return true }
            if !(await pause(.milliseconds(5))) { return false }
        }
        return false
    }

    /// Waits until a writer temp file exists directly in `directory`, up to 5 s.
    static func waitForTemporaryFile(in directory: String) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(5)
        // The agent receives into its partial area in the inbox (resume), next to `directory`.
        let inbox = String(directory[..<(directory.lastIndex(of: "/") ?? directory.endIndex)])
        let area = Array((inbox + "/.peershare-partial").utf8)
        while ContinuousClock.now < deadline {
            if TreeSnapshot.entries(of: Array(directory.utf8)).contains(where: { $0.starts(with: Array(".peershare-".utf8)) })
                || TreeSnapshot.entries(of: area).contains(where: { $0.reversed().starts(with: Array("trap.".utf8)) }) {
                return true
            }
            if !(await pause(.milliseconds(5))) { return false }
        }
        return false
    }

    /// Swaps the directory `inbox/name` for a symlink to `../outside/victim` (the real one
    /// moves to `inbox/name.moved`).
    static func swapForSymlink(_ lab: Lab, _ name: String) -> Bool {
        rename(lab.inbox + "/" + name, lab.inbox + "/" + name + ".moved") == 0
            && symlink("../outside/victim", lab.inbox + "/" + name) == 0
    }

    @Test("A directory swapped for a symlink before its first child is never written through (item 13)")
    func directorySwappedBeforeChild() async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("item 13 directory swapped for a symlink, then a child")
        let session = try await lab.hostile.openAccepted(
            port: lab.port, offer: Raw.offer(files: 1, directories: 1, total: 3, names: ["race"]))
        try await session.perform([.message(Raw.directory("race"))])
        let created = await Self.waitForPath(lab.inbox + "/race")
        try #require(created, "the agent did not create the directory")
        #expect(Self.swapForSymlink(lab, "race"))
        try await session.perform([.message(Raw.file("race/x", size: 3)), .message(Raw.data(Array("abc".utf8))),
                                   .final(Raw.end(files: 1, bytes: 3))])
        let outcome = await session.finalAnswer()
        session.close()
        lab.expectRejected(outcome, probe.label, .protocolError("refused: 'race' in the inbox is a symlink, not a directory"))
        #expect(NodeInfo.read(Array((lab.outside + "/victim/x").utf8)) == nil, "wrote through the swapped-in symlink")
        let leftovers = Set(lab.newEntries(since: probe).keys)
        #expect(leftovers == [Array("race".utf8), Array("race.moved".utf8)],
                "only the test's own swap may remain: \(leftovers.map(shown).sorted())")
        await lab.finish(probe, outcome: outcome, expect: .checkedByTest)
    }

    @Test("A directory swapped for a symlink while one of its files is open is never written through (item 13)")
    func directorySwappedWhileOpen() async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("item 13 directory swapped for a symlink while a file in it is open")
        let session = try await lab.hostile.openAccepted(
            port: lab.port, offer: Raw.offer(files: 2, directories: 1, total: 70_001, names: ["race2"]))
        // a is above the 64 KiB limit of nameless files: its temp name shows it is open.
        try await session.perform([.message(Raw.directory("race2")), .message(Raw.file("race2/a", size: 70_000)),
                                   .message(Raw.data(Raw.pattern(70_000)))])
        let opened = await Self.waitForTemporaryFile(in: lab.inbox + "/race2")
        try #require(opened, "the agent did not start the file")
        #expect(Self.swapForSymlink(lab, "race2"))
        try await session.perform([.message(Raw.file("race2/b", size: 1)), .message(Raw.data([2])), .final(Raw.end(files: 2, bytes: 70_001))])
        let outcome = await session.finalAnswer()
        session.close()
        // Writing on through the descriptor opened before the swap is fine (it is the real
        // directory, now race2.moved); following the symlink is not.
        #expect(NodeInfo.read(Array((lab.outside + "/victim/a").utf8)) == nil, "wrote through the swapped-in symlink")
        #expect(NodeInfo.read(Array((lab.outside + "/victim/b").utf8)) == nil, "wrote through the swapped-in symlink")
        let leftovers = lab.newEntries(since: probe).keys.filter { !$0.starts(with: Array("race2.moved".utf8)) }
        #expect(Set(leftovers) == [Array("race2".utf8)], "unexpected entries: \(leftovers.map(shown).sorted())")
        await lab.finish(probe, outcome: outcome, expect: .checkedByTest)
    }
}
