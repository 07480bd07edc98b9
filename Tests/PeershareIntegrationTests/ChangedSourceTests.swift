import Foundation
import Testing

/// A source file that changes while it is being sent.
extension EndToEnd {
    @Test("A file that grows mid-send: the sender exits 8 soon after, and the receiver is told which file and why")
    func fileGrowingWhileSent() async throws {
        let scratch = try Self.scratch("grow")
        defer { scratch.remove() }
        let file = try scratch.directory("src") + "/growing.bin"
        try Fixture.randomFile(file, size: 400 << 20, seed: 44)
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "nia", in: scratch.root)

        let send = try sender.startSend([file], to: receiver)
        let code = try await pairingCode(of: send)
        _ = try await waitForOffer(on: receiver, needsCode: true)
        #expect(try await receiver.accept(code: code).exited(0))
        try #require(try await send.waitForEvent("progress", timeout: .seconds(20)) != nil, "\(send.currentStdout)")
        try #require(send.isRunning, "the transfer ended before the file could grow: \(send.currentStdout)")
        let handle = try #require(FileHandle(forWritingAtPath: file))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("more".utf8))
        try handle.close()

        let result = try await send.wait(timeout: .seconds(30))
        #expect(result.exited(8), "a file that changed while being sent is an I/O error (8): \(result)")
        let error = result.events("error").last
        #expect(error?.kind == "io" && error?.message?.contains("changed while sending") == true, "\(result.stdout)")
        #expect(result.events("done").isEmpty)
        // The receiver learns the reason, not just a closed connection.
        let told = try await poll(timeout: .seconds(10), interval: .milliseconds(50)) {
            receiver.errors.contains("The sender stopped: 'growing.bin' changed while it was being sent") ? true : nil
        }
        #expect(told == true, "the receiver was not told why:\n\(receiver.transcript)")
        #expect(!receiver.errors.contains("connection closed"), "\(receiver.transcript)")
        #expect(receiver.inboxNames().isEmpty, "left in the inbox: \(receiver.inboxNames())")
    }
}
