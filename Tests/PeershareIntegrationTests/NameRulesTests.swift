import Foundation
import Testing

/// Names the receiver's path rules refuse must be caught by the sender before anything is
/// offered, never by the receiver half way through an accepted transfer.
extension EndToEnd {
    @Test("One folder holding \"café.txt\" in NFC and in NFD: the sender deals with it before offering, never a protocol error after acceptance")
    func canonicallyEquivalentNamesInOneFolder() async throws {
        let scratch = try Self.scratch("nfd")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/twins"
        let tree = try TreeBuilder(source)
        try tree.file("caf\u{E9}.txt", text: "NFC spelling\n")       // U+00E9
        try tree.file("cafe\u{301}.txt", text: "NFD spelling\n")     // e + U+0301
        try tree.file("other.txt", text: "an ordinary file\n")
        try tree.finish()
        #expect(directoryNames(source).count == 3, "the file system keeps both spellings")

        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "nina", in: scratch.root)
        let send = try sender.startSend([source], to: receiver)
        // The sender keeps the first twin, announces the other as left out before offering,
        // and the offered tree arrives whole: exit 12 (an entry was left out), never a
        // protocol error after acceptance.
        let result = try await finishWithCode(send, on: receiver)
        #expect(result.exited(12), "one twin left out must end the send with 12: \(result)")
        #expect(result.events("warning").count == 1, "the skipped twin must be announced: \(result.stdout)")
        #expect(result.events("done").last?.leftOut == 1, "\(result.stdout)")
        #expect(directoryNames(receiver.inbox + "/twins").sorted().count == 2, "\(directoryNames(receiver.inbox + "/twins"))")
        #expect(result.events("error").allSatisfy { $0.kind != "protocol" }, "\(result.stdout)")
    }
}
