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
        // Either the sender refuses before pairing, or it sends (skipping one twin with a warning).
        let shownCode = try await send.waitForEvent("code", timeout: .seconds(10))
        let result: CommandResult
        if let code = shownCode?.code {
            _ = try await waitForOffer(on: receiver, needsCode: true)
            #expect(try await receiver.accept(code: code).exited(0))
            result = try await send.wait(timeout: .seconds(20))
            #expect(result.exited(0), "an offered tree must arrive; the receiver refused it after acceptance: \(result)")
            #expect(!result.events("warning").isEmpty, "the skipped twin must be announced: \(result.stdout)")
        } else {
            result = try await send.wait(timeout: .seconds(20))
            #expect(!result.timedOut && !result.exited(0), "refused before pairing, with a message: \(result)")
        }
        #expect(result.events("error").allSatisfy { $0.kind != "protocol" }, "\(result.stdout)")
    }
}
