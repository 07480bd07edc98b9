import Foundation
import Glibc
import Testing

/// How `peershare send` runs: in-process (no agent in the sender's home), or as a client of
/// the sender's running agent.
enum SendRoute: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case inProcess = "in-process"
    case throughAgent = "through the sender's agent"

    var testDescription: String { rawValue }
}

/// A send interrupted half way.
extension EndToEnd {
    @Test("SIGINT during a 400 MiB send: status 130, and the receiver keeps nothing under the final name",
          arguments: SendRoute.allCases)
    func interruptedSend(route: SendRoute) async throws {
        let scratch = try Self.scratch("cancel")
        defer { scratch.remove() }
        let file = try scratch.directory("src") + "/big.bin"
        try Fixture.randomFile(file, size: 400 << 20, seed: 42)
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }

        let send: RunningCommand
        var senderAgent: AgentProcess?
        defer { senderAgent?.stop() }
        switch route {
        case .inProcess:
            send = try SenderHome(name: "ken", in: scratch.root).startSend([file], to: receiver)
        case .throughAgent:
            let agent = try await AgentProcess.start(name: "ken", in: scratch.root)
            senderAgent = agent
            send = try agent.startSend([file], to: receiver)
        }
        let code = try await pairingCode(of: send)
        _ = try await waitForOffer(on: receiver, needsCode: true)
        #expect(try await receiver.accept(code: code).exited(0))
        let progress = try await send.waitForEvent("progress", timeout: .seconds(20))
        try #require(progress != nil, "no progress before the end: \(send.currentStdout)")
        #expect(send.isRunning, "the transfer ended before it could be interrupted: \(send.currentStdout)")
        send.send(signal: SIGINT)
        let result = try await send.wait(timeout: .seconds(15))
        switch route {
        case .inProcess:
            // The in-process send handles SIGINT itself and exits with the documented 130.
            #expect(result.exited(130), "an interrupted send must exit 130: \(result)")
            #expect(result.events("error").last?.kind == "cancelled", "\(result.stdout)")
        case .throughAgent:
            // A control client may also die of the signal (a shell shows 130 either way).
            #expect(result.exited(130) || (result.signalled && result.status == SIGINT),
                    "an interrupted send must end with 130 or SIGINT: \(result)")
        }
        #expect(result.events("done").isEmpty, "\(result.stdout)")

        #expect(!FileManager.default.fileExists(atPath: receiver.inbox + "/big.bin"),
                "a cancelled file must not appear under its final name")
        // Nothing else in the tree: the unfinished file stays only in the hidden partial
        // area, where a resend from the same sender continues it (docs/PROTOCOL.md §6).
        let kept = try await poll(timeout: .seconds(10), interval: .milliseconds(50)) {
            receiver.partialAreaNames().contains { $0.hasSuffix(".part") } ? true : nil
        }
        #expect(kept == true, "the unfinished file was not kept for a resume: \(receiver.partialAreaNames())\n\(receiver.transcript)")
        #expect(receiver.inboxNames().isEmpty, "left in the inbox: \(receiver.inboxNames())\n\(receiver.transcript)")
        #expect(!FileManager.default.fileExists(atPath: receiver.inbox + "/big.bin"))
        #expect(receiver.isRunning, "the receiver must survive a cancelled transfer")
        if let senderAgent {
            #expect(senderAgent.isRunning, "the sender's agent must survive its client's interruption")
            let status = try await CLI.run(["status", "--home", senderAgent.home, "--json"])
            #expect(status.exited(0), "\(status)")
        }
    }
}

/// Interruptions before the data flows, and on the receiving side.
extension EndToEnd {
    @Test("SIGINT while the sender waits for the code: status 130, and the offer leaves the receiver's list")
    func interruptedWhileWaiting() async throws {
        let scratch = try Self.scratch("withdraw")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/docs"
        try StandardTree.buildSmall(at: source)
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "liam", in: scratch.root)

        let send = try sender.startSend([source], to: receiver)
        _ = try await pairingCode(of: send)
        _ = try await waitForOffer(on: receiver, needsCode: true)
        send.send(signal: SIGINT)
        let result = try await send.wait(timeout: .seconds(15))
        #expect(result.exited(130), "an interrupted send must exit 130: \(result)")
        #expect(result.events("error").last?.kind == "cancelled", "\(result.stdout)")
        let withdrawn = try await poll(timeout: .seconds(10), interval: .milliseconds(50)) {
            try await receiver.pendingOffers().isEmpty ? true : nil
        }
        #expect(withdrawn == true, "the withdrawn offer is still listed\n\(receiver.transcript)")
        #expect(receiver.inboxNames().isEmpty)
    }

    @Test("SIGTERM on the receiving agent mid-transfer: it stops at once and keeps the partial file only in its partial area; the send exits 3 with the receiver's reason")
    func receiverStoppedMidTransfer() async throws {
        let scratch = try Self.scratch("rstop")
        defer { scratch.remove() }
        let file = try scratch.directory("src") + "/big.bin"
        try Fixture.randomFile(file, size: 400 << 20, seed: 43)
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "mia", in: scratch.root)

        let send = try sender.startSend([file], to: receiver)
        let code = try await pairingCode(of: send)
        _ = try await waitForOffer(on: receiver, needsCode: true)
        #expect(try await receiver.accept(code: code).exited(0))
        try #require(try await send.waitForEvent("progress", timeout: .seconds(20)) != nil, "\(send.currentStdout)")
        #expect(send.isRunning, "the transfer ended before the receiver could be stopped: \(send.currentStdout)")
        let stopped = receiver.stop(grace: .seconds(5))
        #expect(stopped.graceful && !stopped.signalled && stopped.status == 0,
                "SIGTERM must stop a busy agent cleanly: \(stopped)\n\(receiver.transcript)")
        let result = try await send.wait(timeout: .seconds(15))
        // The receiver stopping is a lost peer (3), not this person's Ctrl-C (130), and the
        // sender is told the receiver's own reason.
        #expect(result.exited(3), "a receiver that shuts down must give the sender exit 3: \(result)")
        let error = result.events("error").last
        #expect(error?.kind == "unreachable", "\(result.stdout)")
        #expect(error?.message?.contains("The receiver stopped") == true && error?.message?.contains("shutting down") == true,
                "the sender must see the receiver's reason: \(result.stdout)")
        #expect(result.events("done").isEmpty)
        #expect(receiver.inboxNames().isEmpty, "left in the inbox: \(receiver.inboxNames())")
        #expect(receiver.partialAreaNames().contains { $0.hasSuffix(".part") }, "not kept for a resume: \(receiver.partialAreaNames())")
    }
}
