import Foundation
import Testing

/// `send -v` says what a person debugging a send needs: the addresses tried, the one that
/// answered, the handshake mode, and a line per file; with or without a running agent.
extension EndToEnd {
    @Test("`send -v` without an agent and through one: addresses, the connected address, PAIR then KNOWN, a line per file")
    func verboseSend() async throws {
        let scratch = try Self.scratch("verbose")
        defer { scratch.remove() }
        let source = try scratch.directory("src")
        try Fixture.file(source + "/note.txt", text: "hello\n")
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }

        // Without an agent, with --json (the harness reads the code from it): the first
        // contact pairs, and -v adds a `file` event.
        let sender = try SenderHome(name: "s", in: scratch.root)
        let first = try await finishWithCode(try sender.startSend([source + "/note.txt"], to: receiver.address, options: ["-v"]),
                                             on: receiver)
        #expect(first.exited(0), "\(first)")
        #expect(first.events("sending").first?.addresses == [receiver.address], "\(first)")
        #expect(first.events("connected").first?.address == receiver.address, "\(first)")
        #expect(first.events("connected").first?.paired == false, "\(first)")
        #expect(first.events("file").map(\.file) == ["note.txt"], "\(first)")

        // Through an agent running on the sender's home: paired now, so KNOWN.
        let senderAgent = try await AgentProcess.start(name: "s", in: scratch.root)
        defer { senderAgent.stop() }
        let second = try await CLI.run(["send", source + "/note.txt", "--to", receiver.address, "--home", senderAgent.home, "-v"])
        #expect(second.exited(0), "\(second)")
        #expect(second.stdout.contains("Addresses to try, in order: \(receiver.address)."), "\(second)")
        #expect(second.stdout.contains("Connected to \(receiver.address)"), "\(second)")
        #expect(second.stdout.contains("Handshake mode KNOWN"), "\(second)")
        #expect(second.stdout.contains("sent note.txt (6 B)"), "\(second)")
    }
}
