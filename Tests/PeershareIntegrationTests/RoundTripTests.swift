import Foundation
import Testing

/// Whole folders, sent and received by real processes, compared byte for byte.
extension EndToEnd {
    @Test("First send pairs with the code; the second needs none and lands as NAME (2); both copies match the source exactly")
    func pairThenSendAgain() async throws {
        let scratch = try Self.scratch("trip")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/album"
        try StandardTree.build(at: source)
        let sparseSource = try lstatBytes(Array((source + "/sparse.img").utf8))
        try #require(sparseSource.allocatedBytes < 64 << 20, "the scratch file system does not keep holes: \(sparseSource.summary)")
        let sent = try TreeSnapshot.take(source)
        let sentFiles = sent.entries.values.filter { $0.type == .file }
        let sentBytes = sentFiles.reduce(Int64(0)) { $0 + $1.size }

        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "alice", in: scratch.root)

        // 1. Not paired yet: the sender shows a code, the receiver types it with `accept`.
        let first = try sender.startSend([source], to: receiver)
        let result1 = try await finishWithCode(first, on: receiver)
        // The absolute symlink cannot be sent: everything else arrives, and the send says so (12).
        #expect(result1.exited(12), "\(result1)\n\(receiver.transcript)")
        #expect(result1.events("done").last?.leftOut == 1, "\(result1.stdout)")
        #expect(result1.events("code").count == 1)
        #expect(result1.events("warning").contains { ($0.message ?? "").contains("absolute-link") },
                "the absolute symlink must be skipped with a warning event: \(result1.stdout)")
        let done1 = result1.events("done").last
        #expect(done1?.files == UInt64(sentFiles.count), "done event: \(String(describing: done1))")
        #expect(done1?.bytes == UInt64(sentBytes), "done event: \(String(describing: done1))")
        #expect(receiver.inboxNames() == ["album"])
        try expectSameTree(source, receiver.inbox + "/album", skipped: StandardTree.skipped)
        try expectSparse(receiver.inbox + "/album/sparse.img")
        let firstCopy = try TreeSnapshot.take(receiver.inbox + "/album")

        // 2. Paired: no code, straight through, under the next free name; the person accepts
        //    that the absolute symlink stays behind.
        let second = try sender.startSend([source], to: receiver.address, options: ["--skip-unsendable"])
        let result2 = try await second.wait(timeout: .seconds(30))
        #expect(result2.exited(0), "\(result2)\n\(receiver.transcript)")
        #expect(result2.events("code").isEmpty, "a paired send must not show a code: \(result2.stdout)")
        #expect(result2.events("connected").first?.paired == true, "\(result2.stdout)")
        #expect(receiver.inboxNames() == ["album", "album (2)"])
        try expectSameTree(source, receiver.inbox + "/album (2)", skipped: StandardTree.skipped)
        try expectSparse(receiver.inbox + "/album (2)/sparse.img")
        let changes = try TreeSnapshot.take(receiver.inbox + "/album").changes(since: firstCopy)
        #expect(changes.isEmpty, "the second transfer changed the first copy:\n\(changes.joined(separator: "\n"))")

        // The agent stops cleanly on SIGTERM.
        let stopped = receiver.stop()
        #expect(stopped.graceful && !stopped.signalled && stopped.status == 0,
                "SIGTERM should stop the agent with status 0: \(stopped)\n\(receiver.transcript)")
    }

    @Test("The code typed on the receiving agent's terminal (\"123 456\") accepts the offer")
    func codeTypedOnAgentTerminal() async throws {
        let scratch = try Self.scratch("stdin")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/docs"
        try StandardTree.buildSmall(at: source)
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "bob", in: scratch.root)

        let send = try sender.startSend([source], to: receiver)
        let code = try await pairingCode(of: send)
        _ = try await waitForOffer(on: receiver, needsCode: true)
        try receiver.type(spaced(code))
        let result = try await send.wait(timeout: .seconds(30))
        #expect(result.exited(0), "\(result)\n\(receiver.transcript)")
        #expect(result.events("done").count == 1)
        #expect(receiver.inboxNames() == ["docs"])
        try expectSameTree(source, receiver.inbox + "/docs")
        let trusted = try await CLI.trusted(home: receiver.home)
        let senderFingerprint = try await sender.fingerprint()
        #expect(trusted.map(\.fingerprint) == [senderFingerprint], "the sender is pinned after pairing")
    }
}

/// Expects the file at `path` to be sparse: it occupies far less than its size.
func expectSparse(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let info = try lstatBytes(Array(path.utf8))
    #expect(info.size == StandardTree.sparseSize, "\(path): \(info.summary)", sourceLocation: sourceLocation)
    #expect(info.allocatedBytes < 64 << 20,
            "\(path) is not sparse: \(info.allocatedBytes) bytes allocated for \(info.size)", sourceLocation: sourceLocation)
}
