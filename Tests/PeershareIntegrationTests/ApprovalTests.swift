import Foundation
import Testing

/// Approving paired peers, forgetting them, and what the receiver is shown before deciding.
extension EndToEnd {
    @Test("--ask-paired: a paired send waits; `accept` without a code approves it, `y` on the terminal too, `decline` refuses it")
    func askPaired() async throws {
        let scratch = try Self.scratch("ask")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/docs"
        try StandardTree.buildSmall(at: source)
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root, options: ["--ask-paired"])
        defer { receiver.stop() }
        let sender = try SenderHome(name: "heidi", in: scratch.root)

        // Pairing still takes the code.
        let first = try await finishWithCode(sender.startSend([source], to: receiver), on: receiver)
        #expect(first.exited(0), "\(first)\n\(receiver.transcript)")

        // Paired: the offer waits for a yes, without a code; `peershare accept` gives it.
        let second = try sender.startSend([source], to: receiver)
        let waiting = try await waitForOffer(on: receiver, needsCode: false)
        #expect(waiting.peer == "heidi")
        #expect(second.isRunning, "the send must wait for the approval")
        #expect(second.currentEvents.contains { $0.event == "waiting" }, "\(second.currentStdout)")
        let approved = try await receiver.accept()
        #expect(approved.exited(0), "\(approved)")
        let secondResult = try await second.wait(timeout: .seconds(30))
        #expect(secondResult.exited(0), "\(secondResult)\n\(receiver.transcript)")
        #expect(secondResult.events("code").isEmpty, "\(secondResult.stdout)")
        #expect(receiver.inboxNames() == ["docs", "docs (2)"])
        try expectSameTree(source, receiver.inbox + "/docs (2)")

        // `y` typed on the agent's terminal approves too.
        let third = try sender.startSend([source], to: receiver)
        _ = try await waitForOffer(on: receiver, needsCode: false)
        try receiver.type("y")
        let thirdResult = try await third.wait(timeout: .seconds(30))
        #expect(thirdResult.exited(0), "\(thirdResult)\n\(receiver.transcript)")
        #expect(receiver.inboxNames() == ["docs", "docs (2)", "docs (3)"])

        // `peershare decline` refuses.
        let fourth = try sender.startSend([source], to: receiver)
        _ = try await waitForOffer(on: receiver, needsCode: false)
        let declined = try await receiver.decline()
        #expect(declined.exited(0), "\(declined)")
        let fourthResult = try await fourth.wait(timeout: .seconds(30))
        #expect(fourthResult.exited(4), "\(fourthResult)")
        #expect(receiver.inboxNames() == ["docs", "docs (2)", "docs (3)"])
    }

    @Test("`peershare forget` on the receiver: the next send needs the code again and warns that the receiver no longer knows the sender")
    func forgetNeedsCodeAgain() async throws {
        let scratch = try Self.scratch("forget")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/docs"
        try StandardTree.buildSmall(at: source)
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "ivan", in: scratch.root)
        let senderFingerprint = try await sender.fingerprint()

        let first = try await finishWithCode(sender.startSend([source], to: receiver), on: receiver)
        #expect(first.exited(0), "\(first)\n\(receiver.transcript)")
        #expect(try await CLI.trusted(home: receiver.home).map(\.fingerprint) == [senderFingerprint])

        let forgot = try await CLI.run(["forget", "ivan", "--home", receiver.home])
        #expect(forgot.exited(0), "\(forgot)")
        #expect(try await CLI.trusted(home: receiver.home).isEmpty, "forget must remove the pin")
        #expect(try await CLI.trusted(home: sender.home).count == 1, "the sender still has the receiver pinned")

        let again = try sender.startSend([source], to: receiver)
        let result = try await finishWithCode(again, on: receiver)
        #expect(result.exited(0), "\(result)\n\(receiver.transcript)")
        #expect(result.events("code").count == 1, "a forgotten sender must pair again: \(result.stdout)")
        #expect(result.events("warning").contains { ($0.message ?? "").contains("no longer knows") },
                "the sender should warn that the receiver forgot it: \(result.stdout)")
        #expect(receiver.inboxNames() == ["docs", "docs (2)"])
        #expect(try await CLI.trusted(home: receiver.home).map(\.fingerprint) == [senderFingerprint], "paired again")
    }

    @Test("`peershare inbox --json` lists a waiting offer with the sender's name and fingerprint, file count and size")
    func inboxListsPendingOffer() async throws {
        let scratch = try Self.scratch("inbox")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/bundle"
        let tree = try TreeBuilder(source)
        try tree.file("one.txt", Fixture.bytes(count: 10, seed: 1))
        try tree.directory("sub")
        try tree.file("sub/two.bin", Fixture.bytes(count: 2_000, seed: 2))
        try tree.file("sub/three", [])
        try tree.finish()
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "judy", in: scratch.root)
        let senderFingerprint = try await sender.fingerprint()

        let send = try sender.startSend([source], to: receiver)
        _ = try await pairingCode(of: send)
        let offer = try await waitForOffer(on: receiver, needsCode: true)
        let all = try await receiver.pendingOffers()
        #expect(all.count == 1)
        #expect(offer.peer == "judy")
        #expect(offer.fingerprint == senderFingerprint)
        #expect(offer.files == 3)
        #expect(offer.bytes == 2_010)
        #expect(offer.names == ["bundle"])
        #expect(offer.address?.hasPrefix("127.0.0.1") ?? false, "\(String(describing: offer.address))")

        let declined = try await receiver.decline(offer: offer.id)
        #expect(declined.exited(0), "\(declined)")
        #expect(try await send.wait(timeout: .seconds(20)).exited(4))
        #expect(try await receiver.pendingOffers().isEmpty)
    }
}
