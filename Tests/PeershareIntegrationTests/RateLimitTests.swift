import Foundation
import Testing

/// `send --limit-rate`, `limit_rate` and `limit_rate_total` (issue 18), through the real
/// binary on loopback. The checks here are the limit's effect with a wide margin (a 1 MiB/s
/// limit makes 6 MiB take at least 5 s); how closely the rate holds (±5% over 10 s) is
/// measured by `make bench-links`, not asserted in a test.
extension EndToEnd {
    static let limitedBytes = 6 << 20

    /// A receiver, a sender agent (with `config` as its config.toml) paired with it, and a
    /// 6 MiB file to send.
    func limitedPair(_ scratch: Scratch, config: String = "") async throws -> (AgentProcess, AgentProcess, String) {
        let source = scratch.path("six.bin")
        try Fixture.randomFile(source, size: Self.limitedBytes, seed: 18)
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        let configDirectory = scratch.root + "/alice.home/config"
        try FileManager.default.createDirectory(atPath: configDirectory, withIntermediateDirectories: true)
        try Fixture.file(configDirectory + "/config.toml", text: config)
        let sender = try await AgentProcess.start(name: "alice", in: scratch.root)
        let note = scratch.path("note.txt")
        try Fixture.file(note, text: "hello\n")
        let paired = try await finishWithCode(try sender.startSend([note], to: receiver), on: receiver)
        try #require(paired.exited(0), "pairing: \(paired)")
        return (receiver, sender, source)
    }

    @Test("send --limit-rate 1M: 6 MiB take at least 5 s, progress shows a rate near the limit and a time left; bad rates exit 2",
          .timeLimit(.minutes(2)))
    func limitRateFlag() async throws {
        let scratch = try Self.scratch("limit-flag")
        defer { scratch.remove() }
        let (receiver, sender, source) = try await limitedPair(scratch)
        defer { receiver.stop(); sender.stop() }

        let start = ContinuousClock.now
        let result = try await CLI.run(["send", source, "--to", receiver.address, "--home", sender.home, "--json",
                                        "--limit-rate", "1M"], timeout: .seconds(60))
        let elapsed = (ContinuousClock.now - start).seconds
        #expect(result.exited(0), "\(result)\n\(receiver.transcript)")
        #expect(elapsed >= 5, "6 MiB under a 1 MiB/s limit took only \(elapsed) s")
        let progress = result.events("progress")
        let rates = progress.compactMap(\.rate)
        #expect(!rates.isEmpty && rates.allSatisfy { $0 < 1.5 * Double(1 << 20) },
                "progress rates must show the 1 MiB/s limit: \(rates)")
        #expect(progress.contains { ($0.eta ?? 0) >= 1 }, "progress must show the time left at the limited rate: \(progress)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: receiver.inbox + "/six.bin")) == Data(contentsOf: URL(fileURLWithPath: source)))

        for bad in ["10x", "-1M", "100", "1.5.2M"] {
            let refused = try await CLI.run(["send", source, "--to", receiver.address, "--home", sender.home, "--limit-rate=\(bad)"])
            #expect(refused.exited(2) && refused.stderr.contains("--limit-rate must be"), "--limit-rate '\(bad)': \(refused)")
        }
    }

    @Test("limit_rate in the config holds for a send without --limit-rate: 6 MiB at 1 MiB/s take at least 5 s",
          .timeLimit(.minutes(2)))
    func limitRateFromConfig() async throws {
        let scratch = try Self.scratch("limit-config")
        defer { scratch.remove() }
        let (receiver, sender, source) = try await limitedPair(scratch, config: "limit_rate = \"1M\"\n")
        defer { receiver.stop(); sender.stop() }
        let result = try await sender.startSend([source], to: receiver).wait(timeout: .seconds(60))
        #expect(result.exited(0), "\(result)\n\(receiver.transcript)")
        #expect(result.elapsed.seconds >= 5, "6 MiB under limit_rate = 1M took only \(result.elapsed.seconds) s")
    }

    @Test("limit_rate_total in the config: two concurrent sends share 1 MiB/s (12 MiB take at least 10 s); `config` shows both keys",
          .timeLimit(.minutes(2)))
    func limitRateTotal() async throws {
        let scratch = try Self.scratch("limit-total")
        defer { scratch.remove() }
        let (receiver, sender, source) = try await limitedPair(scratch, config: "limit_rate = \"4M\"\nlimit_rate_total = 1048576\n")
        defer { receiver.stop(); sender.stop() }
        let config = try await CLI.run(["config", "--home", sender.home])
        #expect(config.stdout.contains("limit_rate") && config.stdout.contains("4194304")
                && config.stdout.contains("limit_rate_total") && config.stdout.contains("1048576"), "\(config)")

        let copy = scratch.path("six-again.bin")
        try FileManager.default.copyItem(atPath: source, toPath: copy)
        let start = ContinuousClock.now
        let first = try sender.startSend([source], to: receiver)
        let second = try sender.startSend([copy], to: receiver)
        let results = [try await first.wait(timeout: .seconds(60)), try await second.wait(timeout: .seconds(60))]
        let elapsed = (ContinuousClock.now - start).seconds
        for result in results { #expect(result.exited(0), "\(result)\n\(receiver.transcript)") }
        #expect(elapsed >= 10, "12 MiB under a shared 1 MiB/s limit took only \(elapsed) s")
    }
}
