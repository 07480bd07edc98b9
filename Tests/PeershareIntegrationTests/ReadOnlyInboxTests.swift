import Foundation
import Glibc
import Testing

/// An inbox the agent's user cannot write to (chmod 0555; the tests run as an ordinary user,
/// so it really is read-only for the agent).
extension EndToEnd {
    @Test("A read-only inbox: a warning when the agent starts, and an offer refused before any code is asked for (exit 11, the cause named)")
    func readOnlyInboxRefusesBeforeTheCode() async throws {
        let scratch = try Self.scratch("roinbox")
        defer { scratch.remove() }
        let inbox = scratch.path("recv.inbox")
        try Fixture.directory(inbox, mode: 0o555)
        let source = try scratch.directory("src") + "/note.txt"
        try Fixture.file(source, Array("hi\n".utf8))
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root, inbox: inbox)
        defer { receiver.stop() }
        let warned = try await poll(timeout: .seconds(5), interval: .milliseconds(50)) {
            receiver.output.contains("WARNING: The inbox \(inbox) is not writable (permission denied)") ? true : nil
        }
        #expect(warned == true, "no warning at start:\n\(receiver.transcript)")

        let send = try SenderHome(name: "olga", in: scratch.root).startSend([source], to: receiver)
        let result = try await send.wait(timeout: .seconds(20))
        #expect(result.exited(11), "a receiver that cannot take files refuses the offer (11): \(result)")
        let error = result.events("error").last
        #expect(error?.message?.contains("its inbox is not writable (permission denied)") == true, "\(result.stdout)")
        #expect(!result.stdout.contains("not enough space") && !receiver.errors.contains("not enough space"))
        // The offer never waited for a code on the receiver; its terminal names the inbox.
        #expect(try await receiver.pendingOffers().isEmpty)
        #expect(!receiver.output.contains("type the pairing code"), "\(receiver.transcript)")
        #expect(receiver.errors.contains("the inbox \(inbox) is not writable (permission denied)"), "\(receiver.transcript)")
    }

    @Test("A paired sender to a read-only inbox: REFUSE with the cause, exit 8")
    func readOnlyInboxRefusesAPairedSender() async throws {
        let scratch = try Self.scratch("roknown")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/note.txt"
        try Fixture.file(source, Array("hi\n".utf8))
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "pia", in: scratch.root)
        let first = try await finishWithCode(try sender.startSend([source], to: receiver), on: receiver)
        try #require(first.exited(0), "pairing send failed: \(first)")

        try #require(chmod(receiver.inbox, 0o555) == 0)
        defer { _ = chmod(receiver.inbox, 0o755) }
        let result = try await sender.startSend([source], to: receiver).wait(timeout: .seconds(20))
        #expect(result.exited(8), "a paired send to a read-only inbox is an I/O refusal (8): \(result)")
        let error = result.events("error").last
        #expect(error?.message?.contains("The receiver cannot write the files: its inbox is not writable (permission denied)") == true, "\(result.stdout)")
        #expect(receiver.errors.contains("the inbox \(receiver.inbox) is not writable (permission denied)"), "\(receiver.transcript)")
    }
}
