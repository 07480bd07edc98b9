import Foundation
import Testing

/// The sender cannot know the receiver's offer timeout (it is not on the wire): what it
/// shows is its own wait, said as such, and an offer the receiver's agent closed is
/// reported as that agent's timeout, with how long it was open.
extension EndToEnd {
    @Test("A receiver with --offer-timeout 2: the sender's text does not claim 5:00 of validity, and names the receiver's timeout when it ends")
    func receiverTimeoutIsNamed() async throws {
        let scratch = try Self.scratch("offer-wait")
        defer { scratch.remove() }
        let file = scratch.path("note.txt")
        try Fixture.file(file, text: "hello\n")
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root, options: ["--offer-timeout", "2"])
        defer { receiver.stop() }
        let sender = try SenderHome(name: "erin", in: scratch.root)

        let text = try await sender.startSend([file], to: receiver.address, json: false).wait(timeout: .seconds(20))
        #expect(text.exited(6), "\(text)")
        #expect(!text.stdout.contains("valid for"), "\(text)")
        #expect(text.stdout.contains("this send waits up to 5:00; the receiver's agent may close the offer sooner"), "\(text)")
        // About 2 s (the receiver's timeout), measured by the sender; a loaded machine adds a little.
        let said = "The receiver's agent closed the offer after its offer timeout (after "
        let seconds = text.stderr.components(separatedBy: said).dropFirst().first.flatMap { Int($0.prefix { $0.isNumber }) }
        #expect(seconds.map { (2...5).contains($0) } == true, "\(text)")

        let json = try await sender.startSend([file], to: receiver.address).wait(timeout: .seconds(20))
        let error = json.events("error").last
        #expect(error?.kind == "expired" && error?.message?.contains("offer timeout") == true, "\(json)")
    }
}
