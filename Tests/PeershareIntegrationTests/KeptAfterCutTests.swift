import Foundation
import Glibc
import Testing

/// What a receiver says it kept after a cut is exactly what it holds: complete files of up
/// to 64 KiB and the part of a large file, never a claim that small unfinished files stay.
extension EndToEnd {
    @Test("kill -9 of the sender after 30 small files, inside a large one: the receiver names the 30 files and the part it kept, and the resend sends only the rest")
    func keptReportAfterSenderKilled() async throws {
        let scratch = try Self.scratch("kept")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/mix"
        let tree = try TreeBuilder(source)
        for index in 0..<30 {
            try tree.randomFile(String(format: "s%02d.txt", index), size: 1000, seed: UInt64(700 + index))
        }
        try tree.randomFile("z.bin", size: 64 << 20, seed: 799)
        try tree.finish()
        let total = UInt64(30 * 1000 + (64 << 20))
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "kim", in: scratch.root)

        let first = try sender.startSend([source], to: receiver)
        let code = try await pairingCode(of: first)
        _ = try await waitForOffer(on: receiver, needsCode: true)
        #expect(try await receiver.accept(code: code).exited(0))
        try await Self.killSender(first, after: 8 << 20)
        try await Self.waitUntilIdle(receiver)

        let held = HeldState.read(inbox: receiver.inbox, folder: "mix")
        #expect(held.completeFiles == 30 && held.partialFiles == 1, "not a cut inside z.bin: \(held)")
        let said = try #require(receiver.errors.split(separator: "\n").last { $0.contains("failed:") }, "\(receiver.transcript)")
        let kept = "Kept: 30 complete file(s) in mix and the first \(Self.mebibytes(held.partialBytes)) of mix/z.bin; sending again sends only the rest."
        #expect(said.hasSuffix(". " + kept), "the receiver said: \(said)\nexpected: \(kept)")

        let second = try await sender.startSend([source], to: receiver).wait(timeout: .seconds(120))
        try Self.expectResumed(second, held: held, total: total)
        try expectSameTree(source, receiver.inbox + "/mix")
    }

    /// `ByteCount.format` for a size of at least 1 MiB: one decimal.
    static func mebibytes(_ bytes: UInt64) -> String {
        String(format: "%.1f MiB", Double(bytes) / 1_048_576)
    }
}
