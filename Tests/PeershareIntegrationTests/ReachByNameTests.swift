import Foundation
import Testing

/// Issue 16: a peer paired once by HOST:PORT is reached by its name afterwards, with
/// discovery off, at the address where it proved its key (the address book); a different
/// key at that address is refused with the security message and the pin stays.
extension EndToEnd {
    @Test("A peer paired by HOST:PORT is sent to by name with discovery off, with or without an agent on the sending side")
    func pairedPeerReachedByName() async throws {
        let scratch = try Self.scratch("byname")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/docs"
        try StandardTree.buildSmall(at: source)
        let receiver = try await AgentProcess.start(name: "bob", in: scratch.root)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "alice", in: scratch.root)
        let before = try await sender.startSend([source], to: "bob").wait(timeout: .seconds(30))
        #expect(before.exited(3) && before.events("error").last?.message?.contains("no paired peer has that name") == true,
                "not paired yet and discovery is off, so the name means nothing: \(before)")

        let paired = try await finishWithCode(try sender.startSend([source], to: receiver.address), on: receiver)
        #expect(paired.exited(0), "\(paired)\n\(receiver.transcript)")
        let book = try Self.addressBook(home: sender.home)
        #expect(book.values.flatMap { $0 }.contains { $0["host"] as? String == "127.0.0.1" && $0["port"] as? Int == Int(receiver.port) },
                "the sender remembers where the receiver proved its key: \(book)")
        let receiverBook = try Self.addressBook(home: receiver.home)
        #expect(receiverBook.values.flatMap { $0 }.contains { $0["host"] as? String == "127.0.0.1" && $0["way"] as? String == "incoming" },
                "the receiver remembers where the sender came from: \(receiverBook)")

        let byName = try await sender.startSend([source], to: "bob").wait(timeout: .seconds(30))
        #expect(byName.exited(0), "\(byName)\n\(receiver.transcript)")
        #expect(byName.events("code").isEmpty, "a paired peer needs no code: \(byName)")
        #expect(byName.events("connected").last?.paired == true, "\(byName)")

        // The same through the sender's own running agent (discovery off there too).
        let agent = try await AgentProcess.start(name: "alice", in: scratch.root)
        defer { agent.stop() }
        let viaAgent = try await RunningCommand(["send", source, "--to", "bob", "--home", agent.home, "--json"]).wait(timeout: .seconds(30))
        #expect(viaAgent.exited(0), "\(viaAgent)\n\(agent.transcript)")
        #expect(viaAgent.events("code").isEmpty, "\(viaAgent)")
        #expect(receiver.inboxNames() == ["docs", "docs (2)", "docs (3)"], "\(receiver.inboxNames())")
    }

    @Test("By name, another key at the remembered address is refused with the security message, and the pin stays")
    func rememberedAddressWithAnotherKey() async throws {
        let scratch = try Self.scratch("bynamex")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/docs"
        try StandardTree.buildSmall(at: source)
        let receiver = try await AgentProcess.start(name: "bob", in: scratch.root)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "alice", in: scratch.root)
        let paired = try await finishWithCode(try sender.startSend([source], to: receiver.address), on: receiver)
        #expect(paired.exited(0), "\(paired)\n\(receiver.transcript)")
        let trusted = try Data(contentsOf: URL(fileURLWithPath: sender.home + "/state/trusted.json"))
        let port = receiver.port
        receiver.stop()
        let impostor = try await AgentProcess.start(name: "bob", in: scratch.root + "/other", options: ["--port", "\(port)"])
        defer { impostor.stop() }
        let refused = try await sender.startSend([source], to: "bob").wait(timeout: .seconds(30))
        #expect(refused.exited(9), "a security failure exits 9: \(refused)\n\(impostor.transcript)")
        #expect(refused.events("code").isEmpty, "no code for another key at a paired peer's address: \(refused)")
        #expect(refused.events("error").last?.message?.contains("Security check failed") == true, "\(refused)")
        #expect(impostor.inboxNames().isEmpty)
        #expect(try Data(contentsOf: URL(fileURLWithPath: sender.home + "/state/trusted.json")) == trusted, "the pin is unchanged")
    }

    /// `addresses.json` of a home: identity key (hex) → remembered addresses.
    static func addressBook(home: String) throws -> [String: [[String: Any]]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: home + "/state/addresses.json"))
        return (try JSONSerialization.jsonObject(with: data) as? [String: [[String: Any]]]) ?? [:]
    }
}
