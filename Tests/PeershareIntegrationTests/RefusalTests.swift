import Foundation
import Testing

/// Sends that must not deliver: wrong code, declined, expired, nobody listening.
extension EndToEnd {
    @Test("A wrong code: accept and send exit 5 with a clear message, nothing is written, and the agent serves the next honest send")
    func wrongCode() async throws {
        let scratch = try Self.scratch("wrong")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/docs"
        try StandardTree.buildSmall(at: source)
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "mallory", in: scratch.root)

        let send = try sender.startSend([source], to: receiver)
        let code = try await pairingCode(of: send)
        _ = try await waitForOffer(on: receiver, needsCode: true)
        // `accept` waits for the outcome: a wrong code is its exit 5, said on its own stdout
        // or stderr, not only on the agent's terminal.
        let accepted = try await receiver.accept(code: incorrectCode(for: code))
        #expect(accepted.exited(5), "a wrong code must make `accept` exit 5: \(accepted)")
        #expect(accepted.stderr.contains("Wrong code") && accepted.stderr.contains("mallory"), "\(accepted)")
        let result = try await send.wait(timeout: .seconds(20))
        #expect(result.exited(5), "a wrong code must end the send with status 5: \(result)")
        let error = result.events("error").last
        #expect(error?.kind == "wrong-code", "\(result.stdout)")
        let message = error?.message ?? ""
        #expect(message.lowercased().contains("code"), "the message should name the code: \(message)")
        #expect(result.events("done").isEmpty)
        #expect(receiver.inboxNames().isEmpty, "nothing may be written after a wrong code: \(receiver.inboxNames())")
        #expect(try await CLI.trusted(home: receiver.home).isEmpty, "a failed pairing must pin nothing")
        #expect(try await CLI.trusted(home: sender.home).isEmpty, "a failed pairing must pin nothing on the sender either")
        #expect(receiver.isRunning)

        // The same agent still serves an honest send, which lands under the plain name.
        let honest = try SenderHome(name: "carol", in: scratch.root)
        let next = try honest.startSend([source], to: receiver)
        let nextCode = try await pairingCode(of: next)
        _ = try await waitForOffer(on: receiver, needsCode: true)
        let matched = try await receiver.accept(code: spaced(nextCode))
        #expect(matched.exited(0) && matched.stdout.contains("Code matched; receiving") && matched.stdout.contains("carol"),
                "a right code must make `accept` say it matched: \(matched)")
        let nextResult = try await next.wait(timeout: .seconds(60))
        #expect(nextResult.exited(0), "\(nextResult)\n\(receiver.transcript)")
        #expect(receiver.inboxNames() == ["docs"])
        try expectSameTree(source, receiver.inbox + "/docs")
    }

    @Test("`peershare decline`: send exits 4 and the inbox stays empty")
    func declined() async throws {
        let scratch = try Self.scratch("decline")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/docs"
        try StandardTree.buildSmall(at: source)
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "dave", in: scratch.root)

        let send = try sender.startSend([source], to: receiver)
        _ = try await pairingCode(of: send)
        _ = try await waitForOffer(on: receiver, needsCode: true)
        let declined = try await receiver.decline()
        #expect(declined.exited(0), "\(declined)")
        let result = try await send.wait(timeout: .seconds(20))
        #expect(result.exited(4), "a declined send must exit 4: \(result)")
        #expect(result.events("error").last?.kind == "declined", "\(result.stdout)")
        #expect(receiver.inboxNames().isEmpty)
        #expect(try await receiver.pendingOffers().isEmpty)
    }

    /// The send's own wait is 5 minutes and the harness gives it 20 s, so an `expired` error
    /// within that can only be the receiver's 2 s offer timeout; how fast is a benchmark's
    /// question, not this test's.
    @Test("An offer nobody accepts expires by the receiver's --offer-timeout 2: send exits 6 (expired)")
    func expired() async throws {
        let scratch = try Self.scratch("expire")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/docs"
        try StandardTree.buildSmall(at: source)
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root, options: ["--offer-timeout", "2"])
        defer { receiver.stop() }
        let sender = try SenderHome(name: "erin", in: scratch.root)

        let send = try sender.startSend([source], to: receiver)
        _ = try await pairingCode(of: send)
        let result = try await send.wait(timeout: .seconds(20))
        #expect(result.exited(6), "an expired offer must end the send with status 6: \(result)\n\(receiver.transcript)")
        #expect(result.events("error").last?.kind == "expired", "\(result.stdout)")
        #expect(receiver.inboxNames().isEmpty)
        #expect(try await receiver.pendingOffers().isEmpty, "the expired offer must leave the inbox list")
    }

    @Test("Nobody listening at 127.0.0.1:1: send exits 3 saying that nothing is listening there")
    func unreachable() async throws {
        let scratch = try Self.scratch("unreach")
        defer { scratch.remove() }
        let file = scratch.path("note.txt")
        try Fixture.file(file, text: "hello\n")
        let sender = try SenderHome(name: "frank", in: scratch.root)

        let json = try await sender.startSend([file], to: "127.0.0.1:1").wait(timeout: .seconds(20))
        #expect(json.exited(3), "\(json)")
        let error = json.events("error").last
        #expect(error?.kind == "unreachable", "\(json.stdout)")
        let message = error?.message ?? ""
        #expect(message.contains("Nothing is listening on 127.0.0.1:1 (connection refused)"), "\(json.stdout)")

        // Without --json the message goes to stderr.
        let text = try await CLI.run(["send", file, "--to", "127.0.0.1:1", "--home", sender.home, "--name", sender.name])
        #expect(text.exited(3), "\(text)")
        #expect(text.stderr.contains("Nothing is listening on 127.0.0.1:1"), "\(text)")
    }
}

extension EndToEnd {
    @Test("Three wrong codes from one address: the next pairing attempt is refused as busy (exit 11) without a code; a paired peer is still served")
    func pairingBackoff() async throws {
        let scratch = try Self.scratch("guess")
        defer { scratch.remove() }
        let file = scratch.path("note.txt")
        try Fixture.file(file, text: "hello\n")
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let friend = try SenderHome(name: "friend", in: scratch.root)
        let paired = try await finishWithCode(friend.startSend([file], to: receiver), on: receiver)
        #expect(paired.exited(0), "\(paired)")

        for attempt in 1...3 {
            let guesser = try SenderHome(name: "guess\(attempt)", in: scratch.root)
            let send = try guesser.startSend([file], to: receiver)
            let code = try await pairingCode(of: send)
            _ = try await waitForOffer(on: receiver, needsCode: true)
            _ = try await receiver.accept(code: incorrectCode(for: code))
            let result = try await send.wait(timeout: .seconds(20))
            #expect(result.exited(5), "attempt \(attempt): \(result)")
        }
        let blocked = try await SenderHome(name: "guess4", in: scratch.root).startSend([file], to: receiver).wait(timeout: .seconds(20))
        #expect(blocked.exited(11), "\(blocked)")
        #expect(blocked.events("code").isEmpty, "no code may be shown while pairing is blocked: \(blocked.stdout)")
        #expect(blocked.events("error").last?.kind == "busy", "\(blocked.stdout)")

        let known = try await friend.startSend([file], to: receiver).wait(timeout: .seconds(20))
        #expect(known.exited(0), "a paired peer needs no pairing and must still be served: \(known)")
        #expect(receiver.inboxNames() == ["note (2).txt", "note.txt"])
    }
}
