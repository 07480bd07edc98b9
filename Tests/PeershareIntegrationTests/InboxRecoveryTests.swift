import Foundation
import Testing

/// The inbox deleted while the agent runs (issue 12, item 9): the next transfer creates it
/// again at the same path, instead of every later send failing until a restart.
extension EndToEnd {
    @Test("After `rm -rf` of the inbox, the next send works and lands in the inbox created again")
    func inboxDeletedThenSendAgain() async throws {
        let scratch = try Self.scratch("inbox-gone")
        defer { scratch.remove() }
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "alice", in: scratch.root)
        let first = scratch.path("first.txt")
        let second = scratch.path("second.txt")
        try Fixture.file(first, text: "before\n")
        try Fixture.file(second, text: "after\n")

        let pairing = try await finishWithCode(try sender.startSend([first], to: receiver), on: receiver)
        try #require(pairing.exited(0), "\(pairing)\n\(receiver.transcript)")
        #expect(receiver.inboxNames() == ["first.txt"])

        try FileManager.default.removeItem(atPath: receiver.inbox)
        #expect(!FileManager.default.fileExists(atPath: receiver.inbox))

        let again = try await sender.startSend([second], to: receiver).wait(timeout: .seconds(30))
        #expect(again.exited(0), "the send after the inbox was deleted: \(again)\n\(receiver.transcript)")
        #expect(receiver.inboxNames() == ["second.txt"])
        #expect(FileManager.default.contents(atPath: receiver.inbox + "/second.txt") == Data("after\n".utf8))

        // Deleted and made again by hand (an empty directory at the same path): used as is.
        try FileManager.default.removeItem(atPath: receiver.inbox)
        try FileManager.default.createDirectory(atPath: receiver.inbox, withIntermediateDirectories: false)
        let third = try await sender.startSend([first], to: receiver).wait(timeout: .seconds(30))
        #expect(third.exited(0), "the send after the inbox was made again: \(third)\n\(receiver.transcript)")
        #expect(receiver.inboxNames() == ["first.txt"])
    }
}
