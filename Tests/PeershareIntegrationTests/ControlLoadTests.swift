import Foundation
import Glibc
import Testing

/// The control socket under a same-user flood (issue 12, item 9), against the real binary.
extension EndToEnd {
    static let controlCap = 64

    /// A paired sender, so that a later send needs no `accept` over the control socket.
    func pairedSender(_ scratch: Scratch, receiver: AgentProcess) async throws -> (SenderHome, String) {
        let sender = try SenderHome(name: "alice", in: scratch.root)
        let note = scratch.path("note.txt")
        try Fixture.file(note, text: "hello\n")
        let paired = try await finishWithCode(try sender.startSend([note], to: receiver), on: receiver)
        try #require(paired.exited(0), "pairing: \(paired)")
        return (sender, note)
    }

    @Test("Over the control-connection cap: extra clients get a one-line busy error, a peer transfer works meanwhile, descriptors return to baseline",
          .timeLimit(.minutes(2)))
    func controlConnectionCap() async throws {
        let scratch = try Self.scratch("control-cap")
        defer { scratch.remove() }
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let (sender, note) = try await pairedSender(scratch, receiver: receiver)
        let socket = receiver.home + "/run/control.sock"
        let baseline = try ProcessFigures.openDescriptors(receiver.pid)

        // 100 `events` clients: NIO hands accepted connections over from several event
        // loops, so which 64 are served is not their connect order; the other 36 must get
        // the busy line. (A client may be closed before its request is written: ignored.)
        var clients: [ControlSocketClient] = []
        for _ in 0..<(Self.controlCap + 36) {
            let client = try ControlSocketClient(path: socket)
            try? client.send(#"{"command":"events"}"#)
            clients.append(client)
        }
        // The agent has taken all 100 in hand once a `status` is refused as busy.
        let refused = try await poll(timeout: .seconds(20)) { () throws -> Bool? in
            let probe = try ControlSocketClient(path: socket)
            try? probe.send(#"{"command":"status"}"#)
            return await probe.readLine()?.contains(#""kind":"busy""#) == true ? true : nil
        }
        #expect(refused == true, "a client over the cap was not refused as busy")

        // Peer transfers meanwhile; their events reach every served client. A client the
        // agent took in hand only just now may have subscribed after the first transfer's
        // events: those that got nothing are read again after another transfer.
        var answers = [String?](repeating: nil, count: clients.count)
        for round in 1...3 where answers.contains(nil) {
            let send = try await sender.startSend([note], to: receiver).wait(timeout: .seconds(30))
            #expect(send.exited(0), "peer transfer \(round) while the control socket is full: \(send)")
            let deadline = ContinuousClock.now + .seconds(10)
            for (index, client) in clients.enumerated() where answers[index] == nil {
                let left = max(0, (deadline - ContinuousClock.now).seconds)
                answers[index] = await client.readLine(milliseconds: Int32(left * 1000))
            }
        }
        #expect(receiver.inboxNames().count >= 2)
        let lines = answers.map { $0 ?? "(nothing)" }
        let busy = lines.filter { $0.contains(#""kind":"busy""#) && $0.contains(#""ok":false"#) }.count
        let served = lines.filter { $0.contains(#""event":"#) }.count
        #expect(busy == 36 && served == Self.controlCap,
                "busy \(busy), served \(served); other answers: \(Set(lines.filter { !$0.contains("busy") && !$0.contains(#""event":"#) }))")

        clients.removeAll()
        let settled = try await poll(timeout: .seconds(10)) { () throws -> Int? in
            let now = try ProcessFigures.openDescriptors(receiver.pid)
            return now <= baseline ? now : nil
        }
        let after = try ProcessFigures.openDescriptors(receiver.pid)
        #expect(settled != nil, "descriptors: \(baseline) before, \(after) after the clients closed")
        let status = try await CLI.run(["status", "--home", receiver.home, "--json"], timeout: .seconds(5))
        #expect(status.exited(0), "status after the flood: \(status)")
    }

    @Test("3,000 `events` clients that connect and go away, in 5 rounds: the agent's RSS stays flat and its descriptors return",
          .timeLimit(.minutes(3)))
    func eventsClientsLeaveNothingBehind() async throws {
        let scratch = try Self.scratch("events-leak")
        defer { scratch.remove() }
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let socket = receiver.home + "/run/control.sock"
        let baseline = try ProcessFigures.openDescriptors(receiver.pid)
        var rss: [Int] = []
        for _ in 0..<5 {
            for _ in 0..<20 {
                var batch: [ControlSocketClient] = []
                for _ in 0..<30 {
                    let client = try ControlSocketClient(path: socket)
                    try client.send(#"{"command":"events"}"#)
                    batch.append(client)
                }
                // A `status` answered after them: every request of the batch was read. The
                // previous batch may still be releasing its slots (busy): asked again then.
                let answered = try await poll(timeout: .seconds(5), interval: .milliseconds(20)) { () throws -> String? in
                    let probe = try ControlSocketClient(path: socket)
                    try probe.send(#"{"command":"status"}"#)
                    let line = await probe.readLine() ?? ""
                    return line.contains(#""kind":"busy""#) ? nil : line
                }
                #expect(answered?.contains(#""ok":true"#) == true, "status during the rounds: \(String(describing: answered))")
                batch.removeAll()
            }
            let settled = try await poll(timeout: .seconds(10)) { () throws -> Int? in
                let now = try ProcessFigures.openDescriptors(receiver.pid)
                return now <= baseline ? now : nil
            }
            let after = try ProcessFigures.openDescriptors(receiver.pid)
            #expect(settled != nil, "descriptors after a round: \(after), baseline \(baseline)")
            rss.append(try ProcessFigures.residentKiB(receiver.pid))
        }
        print("[control] events rounds RSS KiB: \(rss)")
        let growth = try #require(rss.last) - (try #require(rss.first))
        #expect(growth < 8 * 1024, "RSS grew \(growth) KiB over rounds 2-5: \(rss)")
    }
}
