import Foundation
import Testing

/// One `peershare history --json` element (the fields the tests check).
struct HistoryInfo: Decodable, Equatable {
    var time: String
    var direction: String
    var peer: String
    var fingerprint: String?
    var names: [String]
    var files: UInt64
    var bytes: UInt64
    var outcome: String
    var message: String?
    var seconds: Double
    var text: String?
}

extension CLI {
    /// `peershare history --home HOME --json [--limit N]`.
    static func history(home: String, limit: Int? = nil) async throws -> [HistoryInfo] {
        let result = try await run(["history", "--home", home, "--json"] + (limit.map { ["--limit", String($0)] } ?? []))
        guard result.exited(0), let entries = decodeJSON([HistoryInfo].self, result.stdout) else {
            throw HarnessError("cannot read the history of \(home): \(result)")
        }
        return entries
    }

    /// Polls the history of `home` until it holds `count` entries (the agent writes each
    /// one right after the transfer's last event); the entries, or what there was at the end.
    static func history(home: String, count: Int, timeout: Duration = .seconds(10)) async throws -> [HistoryInfo] {
        let full = try await poll(timeout: timeout, interval: .milliseconds(50)) {
            let entries = try await history(home: home)
            return entries.count >= count ? entries : nil
        }
        if let full { return full }
        return try await history(home: home)
    }
}

/// `peershare history`: kept by the agent and by a send without an agent, on both sides.
extension EndToEnd {
    /// A first send of `source` that `receiver` declines (exit 4), then one paired with the
    /// code (exit 0): a refused and a confirmed transfer between two new peers.
    func declineThenPair(_ sender: SenderHome, _ source: String, _ receiver: AgentProcess,
                         sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let refused = try sender.startSend([source], to: receiver)
        _ = try await pairingCode(of: refused)
        _ = try await waitForOffer(on: receiver, needsCode: true)
        #expect(try await receiver.decline().exited(0), sourceLocation: sourceLocation)
        #expect(try await refused.wait(timeout: .seconds(20)).exited(4), sourceLocation: sourceLocation)
        let sent = try await finishWithCode(sender.startSend([source], to: receiver), on: receiver)
        #expect(sent.exited(0), "\(sent)\n\(receiver.transcript)", sourceLocation: sourceLocation)
    }

    @Test("history: a declined offer and a received transfer on both sides, newest first; read with the agent stopped, kept across a restart; --limit, text table")
    func historyBothDirections() async throws {
        let scratch = try Self.scratch("history")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/docs"
        try StandardTree.buildSmall(at: source)
        var receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "kim", in: scratch.root)
        let senderFingerprint = try await sender.fingerprint()

        try await declineThenPair(sender, source, receiver)

        let received = try await CLI.history(home: receiver.home, count: 2)
        #expect(received.map(\.outcome) == ["received", "declined"], "\(received)")
        #expect(received.allSatisfy { $0.direction == "receive" && $0.peer == "kim" && $0.fingerprint == senderFingerprint })
        #expect(received.first?.names == ["docs"] && received.first?.bytes == 70_000 + 13 && received.first?.files == 3, "\(received)")
        let outgoing = try await CLI.history(home: sender.home)
        #expect(outgoing.map(\.outcome) == ["confirmed", "declined"], "\(outgoing)")
        #expect(outgoing.first.map { $0.direction == "send" && $0.peer == "recv" && $0.fingerprint == receiver.fingerprint } == true, "\(outgoing)")
        #expect(outgoing.allSatisfy { $0.seconds > 0 })

        // The file outlives the agent (killed: `stop` would remove its home): read without
        // one, and added to by the next one.
        receiver.killHard()
        let kept = try await CLI.history(home: receiver.home)
        #expect(kept.count == 2, "\(kept)")
        receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        let again = try await sender.startSend([source], to: receiver).wait(timeout: .seconds(30))
        #expect(again.exited(0), "\(again)\n\(receiver.transcript)")
        let after = try await CLI.history(home: receiver.home, count: 3)
        #expect(after.map(\.outcome) == ["received", "received", "declined"], "\(after)")
        #expect(after.first?.names == ["docs (2)"], "where it landed: \(after)")
        #expect(try await CLI.history(home: receiver.home, limit: 1).map(\.outcome) == ["received"])

        let table = try await CLI.run(["history", "--home", receiver.home])
        #expect(table.exited(0), "\(table)")
        let lines = table.stdout.split(separator: "\n")
        #expect(lines.count == 4 && lines[0].hasPrefix("TIME (UTC)") && lines[1].contains("from") && lines[1].contains("kim")
                && lines[3].contains("declined"), "\(table.stdout)")
    }

    @Test("history: sends without an agent from one home at the same moment each add their entry (the file is locked and replaced whole)")
    func historyConcurrentWriters() async throws {
        let scratch = try Self.scratch("history-writers")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/docs"
        try StandardTree.buildSmall(at: source)
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "lee", in: scratch.root)
        let first = try await finishWithCode(sender.startSend([source], to: receiver), on: receiver)
        #expect(first.exited(0), "\(first)")

        let sends = try (0..<6).map { _ in try sender.startSend([source], to: receiver) }
        for send in sends {
            let result = try await send.wait(timeout: .seconds(60))
            #expect(result.exited(0), "\(result)")
        }
        let outgoing = try await CLI.history(home: sender.home)
        #expect(outgoing.count == 7 && outgoing.allSatisfy { $0.outcome == "confirmed" }, "\(outgoing)")
        let incoming = try await CLI.history(home: receiver.home, count: 7)
        #expect(incoming.count == 7 && incoming.allSatisfy { $0.outcome == "received" }, "\(incoming)")
    }

    @Test("history: a corrupt history file is an error naming its line (exit 8), and the agent leaves it as it is")
    func historyCorruptFailsClosed() async throws {
        let scratch = try Self.scratch("history-corrupt")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/docs"
        try StandardTree.buildSmall(at: source)
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let path = receiver.home + "/state/history.jsonl"
        let garbage = "{\"time\":\"x\"}\nnot json\n"
        try garbage.write(toFile: path, atomically: true, encoding: .utf8)

        let listed = try await CLI.run(["history", "--home", receiver.home])
        #expect(listed.exited(8), "\(listed)")
        #expect(listed.stderr.contains(path) && listed.stderr.contains("line 1"), "\(listed.stderr)")
        let json = try await CLI.run(["history", "--home", receiver.home, "--json"])
        #expect(json.exited(8) && json.events("error").count == 1, "\(json)")

        let sender = try SenderHome(name: "max", in: scratch.root)
        let sent = try await finishWithCode(sender.startSend([source], to: receiver), on: receiver)
        #expect(sent.exited(0), "a history that cannot be written never fails a transfer: \(sent)")
        _ = try await poll(timeout: .seconds(10)) { receiver.errors.contains("history") ? true : nil }
        #expect(receiver.errors.contains("cannot record the transfer in the history"), "\(receiver.errors)")
        #expect((try? String(contentsOfFile: path, encoding: .utf8)) == garbage, "the corrupt file must not be replaced")
    }
}
