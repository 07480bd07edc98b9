import Foundation
import Testing

/// Pins are looked up by key, not by the address string: a paired receiver reached at
/// another address (here the same agent over IPv6 after pairing over IPv4, as after a DHCP
/// change) takes the files with no code, while another key at a pinned address is still
/// refused with the security message.
extension EndToEnd {
    @Test("A paired receiver reached at a new address needs no code; another key at that pinned address is refused")
    func pairedReceiverAtNewAddress() async throws {
        let scratch = try Self.scratch("addr")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/docs"
        try StandardTree.buildSmall(at: source)
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root, options: ["--listen", "::"])
        defer { receiver.stop() }
        let sender = try SenderHome(name: "alice", in: scratch.root)
        let paired = try await finishWithCode(try sender.startSend([source], to: receiver.address), on: receiver)
        #expect(paired.exited(0), "\(paired)\n\(receiver.transcript)")

        let newAddress = "[::1]:\(receiver.port)"
        let again = try await sender.startSend([source], to: newAddress).wait(timeout: .seconds(30))
        #expect(again.exited(0), "\(again)\n\(receiver.transcript)")
        #expect(again.events("code").isEmpty, "no code for a paired receiver: \(again)")
        #expect(again.events("connected").last?.paired == true, "\(again)")
        #expect(again.events("warning").isEmpty, "\(again)")
        #expect(receiver.inboxNames() == ["docs", "docs (2)"], "\(receiver.inboxNames())")

        // Another device now answers at the address the pin was last reached at.
        let port = receiver.port
        receiver.stop()
        let impostor = try await AgentProcess.start(name: "other", in: scratch.root, options: ["--listen", "::", "--port", "\(port)"])
        defer { impostor.stop() }
        let refused = try await sender.startSend([source], to: newAddress).wait(timeout: .seconds(30))
        #expect(refused.exited(9), "a security failure exits 9: \(refused)\n\(impostor.transcript)")
        #expect(refused.events("code").isEmpty, "no code may be shown to another key at a pinned address: \(refused)")
        #expect(refused.events("error").last?.message?.contains("Security check failed") == true, "\(refused)")
        #expect(impostor.inboxNames().isEmpty)
    }

    @Test("A paired receiver at a new address that forgot the sender: the sender warns and pairs again with a code")
    func forgetfulReceiverAtNewAddress() async throws {
        let scratch = try Self.scratch("addrf")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/docs"
        try StandardTree.buildSmall(at: source)
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root, options: ["--listen", "::"])
        defer { receiver.stop() }
        let sender = try SenderHome(name: "ivan", in: scratch.root)
        let paired = try await finishWithCode(try sender.startSend([source], to: receiver.address), on: receiver)
        #expect(paired.exited(0), "\(paired)\n\(receiver.transcript)")
        #expect(try await CLI.run(["forget", "ivan", "--home", receiver.home]).exited(0))

        let again = try await finishWithCode(try sender.startSend([source], to: "[::1]:\(receiver.port)"), on: receiver)
        #expect(again.exited(0), "\(again)\n\(receiver.transcript)")
        #expect(again.events("code").count == 1, "\(again)")
        #expect(again.events("warning").contains { ($0.message ?? "").contains("no longer knows") }, "\(again)")
        #expect(receiver.inboxNames() == ["docs", "docs (2)"], "\(receiver.inboxNames())")
    }
}
