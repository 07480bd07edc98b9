import Foundation
import Testing

/// What a finished transfer reports about its time and rate (issue 12, item 8): the time runs
/// from acceptance, so a person's typing is not counted; the wait is shown apart; the rate
/// counts the bytes that crossed the wire, not a sparse file's holes.
extension EndToEnd {
    /// The number after `prefix` in `line` ("in 0.3 s" → 0.3).
    static func number(after prefix: String, in line: String) -> Double? {
        guard let range = line.range(of: prefix) else { return nil }
        return Double(line[range.upperBound...].prefix { $0.isNumber || $0 == "." })
    }

    @Test("A first contact approved after a 2.5 s wait reports its time from acceptance and the wait apart; a sparse file's rate counts only the data sent")
    func timeFromAcceptanceAndWireRate() async throws {
        let scratch = try Self.scratch("timing")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/disk"
        try Fixture.directory(source)
        let dataBytes = 1 << 20
        try Fixture.sparseFile(source + "/image.raw", size: 64 << 20, regions: [(0, [UInt8](repeating: 0x5A, count: dataBytes))])
        let sparse = try lstatBytes(Array((source + "/image.raw").utf8))
        try #require(sparse.allocatedBytes < 8 << 20, "the scratch file system does not keep holes: \(sparse.summary)")
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "alice", in: scratch.root)

        // 1. First contact, human output: the code is typed 2.5 s after it is shown.
        let wait = 2.5
        let first = try RunningCommand(["send", source, "--to", receiver.address, "--home", sender.home, "--name", sender.name])
        var code: String?
        let deadline = ContinuousClock.now + .seconds(20)
        while code == nil && ContinuousClock.now < deadline {
            if let line = first.currentStdout.split(separator: "\n").first(where: { $0.hasPrefix("Pairing code: ") }) {
                code = String(line.dropFirst("Pairing code: ".count)).replacingOccurrences(of: " ", with: "")
            } else {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        let typed = try #require(code, "no pairing code shown: \(first.currentStdout)")
        _ = try await waitForOffer(on: receiver, needsCode: true)
        try await Task.sleep(for: .seconds(wait))
        let accepted = try await receiver.accept(code: typed)
        #expect(accepted.exited(0), "accept failed: \(accepted)")
        let result1 = try await first.wait(timeout: .seconds(60))
        #expect(result1.exited(0), "\(result1)\n\(receiver.transcript)")
        let done = try #require(result1.stdout.split(separator: "\n").first { $0.hasPrefix("Done: ") }.map(String.init),
                                "no Done line: \(result1.stdout)")
        let seconds = try #require(Self.number(after: " in ", in: done), "\(done)")
        let waited = try #require(Self.number(after: "after ", in: done), "the Done line does not show the wait: \(done)")
        #expect(seconds < wait, "the time counts the wait for the code: \(done)")
        #expect(waited >= wait, "the wait shown is shorter than the \(wait) s the test waited: \(done)")
        #expect(done.contains("(1.0 MiB sent, "), "the rate must count the 1 MiB sent, not the 64 MiB with holes: \(done)")
        let receivedLine = try await poll(timeout: .seconds(10), interval: .milliseconds(50)) {
            receiver.output.split(separator: "\n").first { $0.hasPrefix("Received ") }.map(String.init)
        }
        let received = try #require(receivedLine, "no Received line:\n\(receiver.transcript)")
        #expect((Self.number(after: " in ", in: received) ?? .infinity) < wait && received.contains("(1.0 MiB sent, ")
                && (Self.number(after: "after ", in: received) ?? 0) >= wait,
                "the receiver's line: \(received)")

        // 2. Paired, JSON: the done event's fields.
        let second = try sender.startSend([source], to: receiver)
        let result2 = try await second.wait(timeout: .seconds(60))
        #expect(result2.exited(0), "\(result2)\n\(receiver.transcript)")
        let event = try #require(result2.events("done").last, "no done event: \(result2.stdout)")
        #expect(event.bytes == UInt64(64 << 20), "done: \(event)")
        #expect(event.wireBytes == UInt64(dataBytes), "done: wireBytes \(String(describing: event.wireBytes)), expected \(dataBytes)")
        #expect(event.seconds != nil && event.waitSeconds != nil, "done: \(event)")
        print("[timing] first contact: \(done) | \(received) | paired: \(String(describing: event.seconds)) s, wait \(String(describing: event.waitSeconds)) s, wire \(String(describing: event.wireBytes))")
    }
}
