import Foundation
import Testing

/// `send --text` between two 1.1 peers: the text travels as a TEXT message (capability
/// `text`), approved like the one-file offer it is, and the receiver shows and keeps it.
extension EndToEnd {
    @Test("send --text: unpaired it needs the code; the receiver writes message.txt, prints the text line and keeps the text in its history; paired it goes again without a code, also to several recipients")
    func sendTextAsMessage() async throws {
        let scratch = try Self.scratch("text-message")
        defer { scratch.remove() }
        let bob = try await AgentProcess.start(name: "bob", in: scratch.root)
        defer { bob.stop() }
        let sender = try SenderHome(name: "vic", in: scratch.root)
        let base = ["--to", bob.address, "--home", sender.home, "--json"]
        let text = "héllo, bob"

        let first = try RunningCommand(["send", "--text", text] + base)
        let result = try await finishWithCode(first, on: bob)
        #expect(result.exited(0), "\(result)")
        #expect(!result.stdout.contains("does not take text"), "\(result)")
        #expect(try String(contentsOfFile: bob.inbox + "/message.txt", encoding: .utf8) == text)
        let history = try await CLI.history(home: bob.home, count: 1)
        #expect(history.first?.text == text && history.first?.names == ["message.txt"], "\(history)")
        // The sender's name is its host's (a send without an agent of its own name).
        let line = "\": \(text) (11 bytes)"
        let shown = try await poll(timeout: .seconds(10), interval: .milliseconds(50)) {
            bob.output.split(separator: "\n").contains { $0.hasPrefix("Text from \"") && $0.hasSuffix(line) } ? true : nil
        }
        #expect(shown == true, "\(bob.transcript)")

        let second = try await CLI.run(["send", "--text", "again"] + base, timeout: .seconds(60))
        #expect(second.exited(0), "\(second)")
        #expect(try String(contentsOfFile: bob.inbox + "/message (2).txt", encoding: .utf8) == "again")
        #expect(try await CLI.history(home: bob.home, count: 2).first?.text == "again")

        // To several recipients (one unreachable): the one that takes text gets it as text.
        let several = try await CLI.run(["send", "--text", "to several", "--to", "\(bob.address),127.0.0.1:1", "--home", sender.home],
                                        timeout: .seconds(60))
        #expect(several.exited(13), "\(several)")
        #expect(try await CLI.history(home: bob.home, count: 3).first?.text == "to several")
    }
}
