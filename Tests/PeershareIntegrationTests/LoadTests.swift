import Foundation
import Glibc
import Testing

/// Load: many senders at once to one receiving agent.
extension EndToEnd {
    static let loadSenders = 20

    /// Overlap is proven as in `severalAtOnce`: the first sender is stopped (SIGSTOP) once
    /// its offer was accepted, and the other 19 must finish while its session is held open.
    @Test("20 senders at once to one receiver: 19 finish while the first is held open mid-transfer, then every transfer arrives intact (peak RSS and time are printed)",
          .timeLimit(.minutes(4)))
    func twentySendersAtOnce() async throws {
        let scratch = try Self.scratch("load")
        defer { scratch.remove() }
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let note = scratch.path("hello.txt")
        try Fixture.file(note, text: "hello\n")

        // Each sender is its own identity (its own home) and pairs once with a code. The
        // receiver shows at most 10 new offers per address a minute, and every sender here
        // is 127.0.0.1: a pairing refused as busy (exit 11) waits and tries again.
        var senders: [SenderHome] = []
        var sources: [String] = []
        for index in 0..<Self.loadSenders {
            let name = String(format: "s%02d", index)
            let sender = try SenderHome(name: name, in: scratch.root)
            var paired = false
            for _ in 0..<40 where !paired {
                let send = try sender.startSend([note], to: receiver)
                // The sender shows its code before the receiver decides to show the offer.
                let waiting = try await poll(timeout: .seconds(15), interval: .milliseconds(50)) { () async throws -> [PendingOfferInfo]? in
                    if let offer = try await receiver.pendingOffers().first(where: { $0.peer == name }) { return [offer] }
                    return send.isRunning ? nil : []  // ended: refused as busy
                }
                guard let offer = waiting?.first, let code = send.currentEvents.first(where: { $0.event == "code" })?.code else {
                    let result = try await send.wait(timeout: .seconds(5))
                    try #require(result.exited(11), "pairing \(name): \(result)")
                    try await Task.sleep(for: .seconds(3))
                    continue
                }
                #expect(try await receiver.accept(code: code, offer: offer.id).exited(0))
                let result = try await send.wait(timeout: .seconds(30))
                try #require(result.exited(0), "pairing \(name): \(result)")
                paired = true
            }
            try #require(paired, "\(name) could not pair")
            let source = try scratch.directory("src") + "/load-\(name)"
            let tree = try TreeBuilder(source)
            // The held sender's file is large enough that it cannot finish before it is stopped.
            try tree.randomFile("big.bin", size: index == 0 ? 64 << 20 : 6 << 20, seed: UInt64(900 + index))
            try tree.directory("small")
            for file in 0..<40 {
                try tree.file("small/\(file).txt", Fixture.bytes(count: 200 + 700 * file, seed: UInt64(10_000 * index + file)))
            }
            try tree.symlink("small/link", to: "../big.bin")
            try tree.finish()
            senders.append(sender)
            sources.append(source)
        }
        let pairedNames = Set(try await CLI.trusted(home: receiver.home).map(\.name))
        #expect(pairedNames.isSuperset(of: senders.map(\.name)), "\(pairedNames)")

        // All at once: paired now, so no code and no person in the way.
        let start = ContinuousClock.now
        // The first is started and held alone: it is stopped as soon as the receiver opened
        // its big file (a `.part` in the partial area), early in its 64 MiB. The other 19
        // start while its session is open.
        let outputBefore = receiver.output.count  // its pairing was received before
        let held = try senders[0].startSend([sources[0]], to: receiver)
        let partialArea = receiver.inbox + "/.peershare-partial"
        let opened = try await poll(timeout: .seconds(30), interval: .milliseconds(1)) {
            directoryNames(partialArea).contains { $0.hasSuffix(".part") } ? true : nil
        }
        try #require(opened == true, "the receiver never opened the first send's file: \(held.currentStdout)")
        held.send(signal: SIGSTOP)
        defer { held.send(signal: SIGCONT) }
        let heldName = senders[0].name
        let heldDone = {
            receiver.output.dropFirst(outputBefore).split(separator: "\n")
                .contains { $0.hasPrefix("Received") && $0.contains("\"\(heldName)\"") }
        }
        try #require(!heldDone(), "setup: the first transfer finished before it could be held")
        let sends = try zip(senders, sources).dropFirst().map { try $0.startSend([$1], to: receiver) }
        var results: [CommandResult] = []
        for send in sends { results.append(try await send.wait(timeout: .seconds(150))) }
        #expect(held.process.isRunning, "the first send must still be held open while the others finish")
        #expect(!heldDone(), "the held transfer finished before the others: \(receiver.output)")
        held.send(signal: SIGCONT)
        results.insert(try await held.wait(timeout: .seconds(150)), at: 0)
        let elapsed = ContinuousClock.now - start
        let peak = receiver.peakMemoryKiB()
        for (index, result) in results.enumerated() {
            #expect(result.exited(0), "sender \(index): \(result)")
            #expect(result.events("done").last?.files == 41, "sender \(index): \(result.stdout)")
        }
        #expect(receiver.inboxNames().filter { $0.hasPrefix("load-") } == senders.map { "load-\($0.name)" }.sorted(), "\(receiver.inboxNames())")
        for (sender, source) in zip(senders, sources) {
            try expectSameTree(source, receiver.inbox + "/load-\(sender.name)")
        }
        #expect(receiver.isRunning)
        let total = Double(Self.loadSenders) * (Double(6 << 20) + Double((0..<40).reduce(0) { $0 + 200 + 700 * $1 })) + Double(58 << 20)
        print(String(format: "[load] %d senders at once, %.1f MiB in all: %.2f s; receiver peak RSS (VmHWM) %@ MiB",
                     Self.loadSenders, total / 1_048_576, elapsed.seconds, peak.map { String(format: "%.1f", Double($0) / 1024) } ?? "?"))
    }
}
