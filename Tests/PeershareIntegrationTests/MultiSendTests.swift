import Foundation
import Testing

/// The `--json` summary of a send to several peers.
struct SendSummaryInfo: Decodable {
    struct Recipient: Decodable {
        var peer: String
        var outcome: String
        var kind: String?
    }
    var event: String
    var confirmed: Int
    var failed: Int
    var recipients: [Recipient]
}

/// `send --to A --to B` / `--to A,B`: all recipients at once, a summary, exit 0 only when all confirmed.
extension EndToEnd {
    /// Waits for the code shown for `recipient` in a multi-send's `--json` events.
    func code(for recipient: String, in send: RunningCommand) async throws -> String {
        let event = try await poll(timeout: .seconds(20)) {
            send.currentEvents.first { $0.event == "code" && $0.peer == recipient }
        }
        return try #require(event?.code, "no code for \(recipient): \(send.currentStdout)")
    }

    @Test("send to several (no agent): both offers at once, one accepted and one declined: exit 13, every event names its peer, the summary says who failed; then both paired: exit 0")
    func sendToSeveralStandalone() async throws {
        let scratch = try Self.scratch("multi")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/docs"
        try StandardTree.buildSmall(at: source)
        let bob = try await AgentProcess.start(name: "bob", in: scratch.root)
        defer { bob.stop() }
        let carol = try await AgentProcess.start(name: "carol", in: scratch.root)
        defer { carol.stop() }
        let sender = try SenderHome(name: "vic", in: scratch.root)

        let send = try RunningCommand(["send", source, "--to", "\(bob.address),\(carol.address)", "--to", bob.address,
                                       "--home", sender.home, "--name", "vic", "--json"])
        let bobCode = try await code(for: bob.address, in: send)
        _ = try await code(for: carol.address, in: send)
        _ = try await waitForOffer(on: bob, needsCode: true)
        _ = try await waitForOffer(on: carol, needsCode: true)
        #expect(try await bob.accept(code: bobCode).exited(0))
        #expect(try await carol.decline().exited(0))
        let result = try await send.wait(timeout: .seconds(60))
        #expect(result.exited(13), "\(result)")
        let transferEvents = result.events.filter { $0.event != "summary" }
        #expect(!transferEvents.isEmpty && transferEvents.allSatisfy { $0.peer == bob.address || $0.peer == carol.address }, "\(result.stdout)")
        #expect(result.events("done").map(\.peer) == [bob.address] && result.events("error").map(\.peer) == [carol.address])
        let summary = try #require(result.stdout.split(separator: "\n").last.flatMap { decodeJSON(SendSummaryInfo.self, String($0)) })
        #expect(summary.event == "summary" && summary.confirmed == 1 && summary.failed == 1)
        #expect(summary.recipients.map(\.outcome) == ["confirmed", "failed"] && summary.recipients.last?.kind == "declined", "\(summary)")
        try expectSameTree(source, bob.inbox + "/docs")
        #expect(carol.inboxNames().isEmpty)

        // Carol pairs on her own; then both are paired and one command reaches both.
        #expect(try await finishWithCode(sender.startSend([source], to: carol), on: carol).exited(0))
        let both = try await RunningCommand(["send", source, "--to", bob.address, "--to", carol.address,
                                             "--home", sender.home, "--name", "vic"]).wait(timeout: .seconds(60))
        #expect(both.exited(0), "\(both)")
        #expect(both.stdout.contains("[\(bob.address)] Done: 3 file(s)") && both.stdout.contains("[\(carol.address)] Done: 3 file(s)"), "\(both.stdout)")
        #expect(both.stdout.contains("Summary: 2 of 2 recipients confirmed every file."), "\(both.stdout)")
        #expect(bob.inboxNames() == ["docs", "docs (2)"] && carol.inboxNames() == ["docs", "docs (2)"])
    }

    @Test("send to several through the agent: one unreachable recipient fails alone (exit 13, named in the summary); the other receives")
    func sendToSeveralViaAgent() async throws {
        let scratch = try Self.scratch("multi-agent")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/docs"
        try StandardTree.buildSmall(at: source)
        let alice = try await AgentProcess.start(name: "alice", in: scratch.root)
        defer { alice.stop() }
        let bob = try await AgentProcess.start(name: "bob", in: scratch.root)
        defer { bob.stop() }
        #expect(try await finishWithCode(alice.startSend([source], to: bob), on: bob).exited(0))

        let result = try await CLI.run(["send", source, "--to", "\(bob.address),127.0.0.1:1", "--home", alice.home], timeout: .seconds(60))
        #expect(result.exited(13), "\(result)")
        #expect(result.stdout.contains("Summary: 1 of 2 recipients confirmed every file."), "\(result.stdout)")
        #expect(result.stdout.contains("127.0.0.1:1") && result.stdout.contains("FAILED") && result.stdout.contains("(unreachable)"), "\(result.stdout)")
        #expect(bob.inboxNames() == ["docs", "docs (2)"])
        let history = try await CLI.history(home: alice.home, count: 3)
        #expect(history.map(\.outcome).sorted() == ["confirmed", "confirmed", "failed"], "\(history)")
    }
}
