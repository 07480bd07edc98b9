import Foundation
import Testing

/// Issue 16: static peers (`run --peer`) and paired peers mDNS does not show are probed and
/// listed by `peers` with how they are known, whether they answered, and the latency; an
/// unpaired static peer is "static, not paired", and a paired peer that went away stays
/// listed with when and where it was last seen.
extension EndToEnd {
    @Test("peers lists a static peer as not paired, then paired and reachable; a paired peer that stopped stays listed as not reachable")
    func staticAndRememberedPeersAreListed() async throws {
        let scratch = try Self.scratch("static")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/docs"
        try StandardTree.buildSmall(at: source)
        let bob = try await AgentProcess.start(name: "bob", in: scratch.root)
        defer { bob.stop() }
        let carol = try await AgentProcess.start(name: "carol", in: scratch.root)
        defer { carol.stop() }
        let alice = try await AgentProcess.start(name: "alice", in: scratch.root, options: ["--peer", bob.address])
        defer { alice.stop() }

        let before = try await Self.probedPeers(alice)
        let unpaired = try #require(before.first { $0["source"] as? String == "static" }, "\(before)")
        #expect(unpaired["paired"] as? Bool == false && unpaired["reachable"] as? Bool == true, "\(unpaired)")
        #expect((unpaired["note"] as? String)?.contains("static, not paired") == true, "\(unpaired)")

        for peer in [bob, carol] {
            let paired = try await finishWithCode(try alice.startSend([source], to: peer), on: peer)
            #expect(paired.exited(0), "\(paired)\n\(peer.transcript)")
        }
        let after = try await Self.probedPeers(alice)
        let staticBob = try #require(after.first { $0["source"] as? String == "static" }, "\(after)")
        #expect(staticBob["paired"] as? Bool == true && staticBob["reachable"] as? Bool == true, "\(staticBob)")
        #expect(staticBob["name"] as? String == "bob" && staticBob["latencyMs"] is Int, "\(staticBob)")
        let rememberedCarol = try #require(after.first { $0["source"] as? String == "remembered" }, "\(after)")
        #expect(rememberedCarol["name"] as? String == "carol" && rememberedCarol["reachable"] as? Bool == true, "\(rememberedCarol)")

        carol.stop()
        let gone = try await Self.probedPeers(alice)
        let lost = try #require(gone.first { $0["source"] as? String == "remembered" }, "a paired peer that stopped is not hidden: \(gone)")
        #expect(lost["name"] as? String == "carol" && lost["reachable"] as? Bool == false, "\(lost)")
        #expect((lost["note"] as? String)?.contains("last seen") == true, "\(lost)")
        #expect(bob.inboxNames() == ["docs"] && carol.inboxNames() == ["docs"])
    }

    /// `peers --probe --json` of a running agent, as objects.
    static func probedPeers(_ agent: AgentProcess) async throws -> [[String: Any]] {
        let result = try await CLI.run(["peers", "--probe", "--json", "--home", agent.home], timeout: .seconds(60))
        try #require(result.exited(0), "\(result)")
        return (try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]]) ?? []
    }
}
