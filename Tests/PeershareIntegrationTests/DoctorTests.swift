import Foundation
import Testing

/// `peershare doctor PEER` (issue 16): every address of the peer tried, with its outcome;
/// exit 0 only when nothing found a problem, 14 otherwise. On loopback with discovery off:
/// the firewall cannot be read by an ordinary user and mDNS is off, which are "unchecked",
/// not problems.
extension EndToEnd {
    @Test("doctor PEER: fine with a latency while the peer runs; refused once it stopped; a different key at its address is named")
    func doctorTriesEveryAddress() async throws {
        let scratch = try Self.scratch("doctor")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/docs"
        try StandardTree.buildSmall(at: source)
        let bob = try await AgentProcess.start(name: "bob", in: scratch.root)
        defer { bob.stop() }
        let alice = try await AgentProcess.start(name: "alice", in: scratch.root)
        defer { alice.stop() }
        let paired = try await finishWithCode(try alice.startSend([source], to: bob), on: bob)
        #expect(paired.exited(0), "\(paired)\n\(bob.transcript)")

        let fine = try await Self.doctor(alice, "bob")
        #expect(fine.result.exited(0), "\(fine.result)")
        let peer = try #require(fine.checks.first { $0["check"] as? String == "peer" })
        #expect(peer["status"] as? String == "ok", "\(peer)")
        #expect((peer["details"] as? [String])?.contains { $0.hasPrefix(bob.address) && $0.contains("fine, paired") && $0.contains(" ms") } == true, "\(peer)")
        #expect(fine.checks.first { $0["check"] as? String == "port" }?["status"] as? String == "ok", "\(fine.checks)")

        let port = bob.port
        bob.stop()
        let gone = try await Self.doctor(alice, "bob")
        #expect(gone.result.exited(14), "\(gone.result)")
        let refused = gone.checks.first { $0["check"] as? String == "peer" }
        #expect(refused?["status"] as? String == "problem" && (refused?["details"] as? [String])?.first?.contains("refused") == true, "\(String(describing: refused))")

        let impostor = try await AgentProcess.start(name: "bob", in: scratch.root + "/other", options: ["--port", "\(port)"])
        defer { impostor.stop() }
        let other = try await Self.doctor(alice, "bob")
        #expect(other.result.exited(14), "\(other.result)")
        let differs = other.checks.first { $0["check"] as? String == "peer" }
        #expect((differs?["details"] as? [String])?.first?.contains("a different key") == true, "\(String(describing: differs))")
        #expect(impostor.inboxNames().isEmpty)
    }

    /// `doctor PEER --json` for an agent's home: the result and its checks.
    static func doctor(_ agent: AgentProcess, _ peer: String) async throws -> (result: CommandResult, checks: [[String: Any]]) {
        let result = try await CLI.run(["doctor", peer, "--json", "--home", agent.home], timeout: .seconds(60))
        let object = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return (result, (object?["checks"] as? [[String: Any]]) ?? [])
    }
}
