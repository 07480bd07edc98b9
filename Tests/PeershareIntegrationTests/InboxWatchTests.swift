import Foundation
import Testing

/// `peershare inbox --watch`: a live view of an agent's offers in another terminal.
extension EndToEnd {
    @Test("inbox --watch: shows an offer as it arrives, accepts it with the code typed there, declines the next on an empty line, and ends when the agent stops")
    func inboxWatch() async throws {
        let scratch = try Self.scratch("watch")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/docs"
        try StandardTree.buildSmall(at: source)
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let input = Pipe()
        let watch = try RunningCommand(["inbox", "--watch", "--home", receiver.home], input: input)
        func type(_ line: String) { input.fileHandleForWriting.write(Data((line + "\n").utf8)) }
        func shown(_ text: String, count: Int = 1) async throws -> Bool {
            try await poll(timeout: .seconds(15)) { watch.currentStdout.components(separatedBy: text).count > count ? true : nil } ?? false
        }
        #expect(try await shown("Watching for offers"), "\(watch.currentStdout)\(watch.currentStderr)")

        let sender = try SenderHome(name: "tom", in: scratch.root)
        let send = try sender.startSend([source], to: receiver)
        let code = try await pairingCode(of: send)
        #expect(try await shown("from \"tom\" at 127.0.0.1"), "\(watch.currentStdout)")
        #expect(watch.currentStdout.contains("needs the pairing code"))
        type(String(code.prefix(3)) + " " + String(code.dropFirst(3)))
        #expect(try await send.wait(timeout: .seconds(30)).exited(0), "\(watch.currentStdout)")
        #expect(try await shown("Code matched; receiving from \"tom\""), "\(watch.currentStdout)")
        #expect(try await shown("Received 3 file(s)"), "\(watch.currentStdout)")

        let stranger = try SenderHome(name: "uma", in: scratch.root)
        let refused = try stranger.startSend([source], to: receiver)
        _ = try await pairingCode(of: refused)
        #expect(try await shown("from \"uma\" at 127.0.0.1"), "\(watch.currentStdout)")
        type("")
        #expect(try await refused.wait(timeout: .seconds(30)).exited(4), "\(watch.currentStdout)")
        #expect(try await shown("Declined offer"), "\(watch.currentStdout)")
        #expect(receiver.inboxNames() == ["docs"])

        receiver.stop()
        let ended = try await watch.wait(timeout: .seconds(15))
        #expect(ended.exited(0) && ended.stdout.contains("The agent stopped."), "\(ended)")
    }
}
