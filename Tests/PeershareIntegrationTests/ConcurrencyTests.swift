import Foundation
import Testing

/// Several transfers at once through one agent.
extension EndToEnd {
    /// Overlap is proven, not hoped for: alice's sender is stopped (SIGSTOP) right after its
    /// offer was accepted, so her session stays open on the receiver mid-transfer; bob's send
    /// and the receiver's own send must then finish while hers is held. A receiver that served
    /// one session at a time would never finish bob's.
    @Test("Two senders to one agent while that agent sends to a third: bob's and the agent's own finish while alice's is held open mid-transfer, then all are intact")
    func severalAtOnce() async throws {
        let scratch = try Self.scratch("many")
        defer { scratch.remove() }
        let sources = try scratch.directory("src")
        for (index, name) in ["from-a", "from-b", "from-r"].enumerated() {
            let tree = try TreeBuilder(sources + "/" + name)
            try tree.randomFile("big.bin", size: 48 << 20, seed: UInt64(100 + index))
            try tree.directory("small")
            for file in 0..<20 {
                try tree.file("small/\(file).txt", Fixture.bytes(count: 1_000 * file, seed: UInt64(1_000 * index + file)))
            }
            try tree.finish()
        }

        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let third = try await AgentProcess.start(name: "third", in: scratch.root)
        defer { third.stop() }
        let alice = try SenderHome(name: "alice", in: scratch.root)
        let bob = try SenderHome(name: "bob", in: scratch.root)

        let fromA = try alice.startSend([sources + "/from-a"], to: receiver)
        let fromB = try bob.startSend([sources + "/from-b"], to: receiver)
        let fromR = try receiver.startSend([sources + "/from-r"], to: third)  // through the receiver's agent
        let codeA = try await pairingCode(of: fromA)
        let codeB = try await pairingCode(of: fromB)
        let codeR = try await pairingCode(of: fromR)
        let offerA = try await waitForOffer(on: receiver, from: "alice", needsCode: true)
        let offerB = try await waitForOffer(on: receiver, from: "bob", needsCode: true)
        _ = try await waitForOffer(on: third, from: "recv", needsCode: true)

        let acceptA = try await RunningCommand(["accept", codeA, "--offer", offerA.id, "--home", receiver.home]).wait()
        #expect(acceptA.exited(0), "\(acceptA)")
        let accepted = try await fromA.waitForEvent("accepted")
        try #require(accepted != nil, "alice's send was not accepted: \(fromA.currentStdout)")
        fromA.send(signal: SIGSTOP)
        defer { fromA.send(signal: SIGCONT) }

        let accepts = try [
            RunningCommand(["accept", codeB, "--offer", offerB.id, "--home", receiver.home]),
            RunningCommand(["accept", codeR, "--home", third.home]),
        ]
        for accept in accepts {
            let result = try await accept.wait()
            #expect(result.exited(0), "\(result)")
        }
        for (send, label) in [(fromB, "bob"), (fromR, "recv")] {
            let result = try await send.wait(timeout: .seconds(60))
            #expect(result.exited(0), "send from \(label) while alice's was held: \(result)\n\(receiver.transcript)")
        }
        #expect(fromA.process.isRunning, "alice's send must still be held open")
        let aliceDone = receiver.output.split(separator: "\n").contains { $0.hasPrefix("Received") && $0.contains("\"alice\"") }
        #expect(!aliceDone, "alice's transfer finished too early: \(receiver.output)")
        fromA.send(signal: SIGCONT)
        for (send, label) in [(fromA, "alice"), (fromB, "bob"), (fromR, "recv")] {
            let result = try await send.wait(timeout: .seconds(60))
            #expect(result.exited(0), "send from \(label): \(result)\n\(receiver.transcript)\n\(third.transcript)")
            #expect(result.events("done").last?.files == 21, "send from \(label): \(result.stdout)")
        }
        #expect(receiver.inboxNames() == ["from-a", "from-b"])
        #expect(third.inboxNames() == ["from-r"])
        try expectSameTree(sources + "/from-a", receiver.inbox + "/from-a")
        try expectSameTree(sources + "/from-b", receiver.inbox + "/from-b")
        try expectSameTree(sources + "/from-r", third.inbox + "/from-r")
    }
}

extension EndToEnd {
    @Test("A third unpaired sender while two offers from the same address wait: refused as busy (exit 11), the others unaffected")
    func offerFloodIsBusy() async throws {
        let scratch = try Self.scratch("busy")
        defer { scratch.remove() }
        let file = scratch.path("note.txt")
        try Fixture.file(file, text: "hello\n")
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }

        var waiting: [RunningCommand] = []
        for name in ["s1", "s2"] {
            let send = try SenderHome(name: name, in: scratch.root).startSend([file], to: receiver)
            _ = try await waitForOffer(on: receiver, from: name, needsCode: true)
            waiting.append(send)
        }
        let third = try await SenderHome(name: "s3", in: scratch.root).startSend([file], to: receiver).wait(timeout: .seconds(20))
        #expect(third.exited(11), "\(third)")
        #expect(third.events("error").last?.kind == "busy", "\(third.stdout)")
        #expect(try await receiver.pendingOffers().map(\.peer).sorted() == ["s1", "s2"])
        for send in waiting { #expect(send.isRunning, "a waiting sender was dropped: \(send.currentStdout)") }

        // The waiting ones still complete.
        let first = try await finishWithCode(waiting[0], on: receiver, peer: "s1")
        #expect(first.exited(0), "\(first)")
        let second = try await finishWithCode(waiting[1], on: receiver, peer: "s2")
        #expect(second.exited(0), "\(second)")
        #expect(receiver.inboxNames() == ["note (2).txt", "note.txt"])
    }
}

extension EndToEnd {
    /// What a person does with two terminals: two sends at once from one home that has no
    /// identity yet. Both processes must end up with the same identity (one key is made, the
    /// other process reads it), both offers show that fingerprint, both arrive, and the
    /// trust store holds the receiver once.
    @Test("Two first sends at once from one fresh home: one identity, both offers accepted, both arrive, one pin")
    func twoSendsFromOneFreshHome() async throws {
        let scratch = try Self.scratch("twosends")
        defer { scratch.remove() }
        try Fixture.file(scratch.path("one.txt"), text: "one\n")
        try Fixture.file(scratch.path("two.txt"), text: "two\n")
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "dual", in: scratch.root)

        let first = try sender.startSend([scratch.path("one.txt")], to: receiver)
        let second = try sender.startSend([scratch.path("two.txt")], to: receiver)
        let codes = [try await pairingCode(of: first), try await pairingCode(of: second)]
        let offers = try await poll(timeout: .seconds(15), interval: .milliseconds(50)) {
            let all = try await receiver.pendingOffers()
            return all.count == 2 ? all : nil
        }
        let waiting = try #require(offers, "both offers must wait on the receiver:\n\(receiver.transcript)")
        #expect(Set(waiting.map(\.fingerprint)).count == 1, "two identities were made for one home: \(waiting.map(\.fingerprint))")
        // The codes are per offer; each offer is accepted with the code its send showed.
        for (code, send) in zip(codes, [first, second]) {
            let name = send === first ? "one.txt" : "two.txt"
            let offer = try #require(waiting.first { $0.names == [name] })
            let accepted = try await receiver.accept(code: code, offer: offer.id)
            #expect(accepted.exited(0), "\(accepted)")
        }
        for send in [first, second] {
            let result = try await send.wait(timeout: .seconds(30))
            #expect(result.exited(0), "\(result)\n\(receiver.transcript)")
        }
        #expect(Set(receiver.inboxNames()) == ["one.txt", "two.txt"])
        let pins = try await CLI.trusted(home: sender.home)
        #expect(pins.count == 1 && pins.first?.name == "recv", "\(pins)")
    }
}
