import Foundation
import PeershareCore
import SodiumKit
import Testing

/// Rules of the stream and messages the document and the code once disagreed on (issue 12,
/// items 5–7): the minimum-progress rule, secretstream tags, frames after END, a malformed
/// OFFER, and what the agent says when it closes a connection itself. The agent runs with a
/// 6-second progress window and 4 handshake slots, so the cases do not wait for the defaults,
/// and with `-v`, so its session log can be read.
@Suite("Stream rules and messages", .serialized,
       .lab("rules", config: "[limits]\nprogress_window = 6\nmax_unauthenticated = 4\n", arguments: ["-v"]))
struct StreamRuleTests {
    static let progressWindow = 6.0

    /// Expects exactly FAILURE(code, text).
    static func expectFailure(_ outcome: Outcome, _ code: FailureCode, _ text: String, _ label: String,
                              sourceLocation: SourceLocation = #_sourceLocation) {
        guard case .failure(let got, let message) = outcome else {
            Issue.record("\(label): expected FAILURE(\(code.rawValue)), got \(outcome)", sourceLocation: sourceLocation)
            return
        }
        #expect(got == code, "\(label): FAILURE code \(got.rawValue), expected \(code.rawValue)", sourceLocation: sourceLocation)
        #expect(message == text, "\(label): FAILURE text \"\(message)\", expected \"\(text)\"", sourceLocation: sourceLocation)
    }

    /// Expects exactly REFUSE(reason, text).
    static func expectRefuse(_ outcome: Outcome, _ reason: RefusalReason, _ text: String, _ label: String,
                             sourceLocation: SourceLocation = #_sourceLocation) {
        guard case .refuse(let got, let message) = outcome else {
            Issue.record("\(label): expected REFUSE(\(reason.rawValue)), got \(outcome)", sourceLocation: sourceLocation)
            return
        }
        #expect(got == reason, "\(label): REFUSE reason \(got.rawValue), expected \(reason.rawValue)", sourceLocation: sourceLocation)
        #expect(message == text, "\(label): REFUSE text \"\(message)\", expected \"\(text)\"", sourceLocation: sourceLocation)
    }

    // MARK: Item 5: minimum progress

    @Test("A paired sender trickling 1-byte DATA every 2 s is cut off by the minimum-progress rule within the window (item 5)")
    func trickleIsCutOff() async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("item 5 trickle of 1-byte DATA every 2 s")
        let size = UInt64(StreamTests.resumableSize)  // kept when cut (over the nameless-file limit)
        let session = try await lab.hostile.openAccepted(port: lab.port, offer: StreamCase.oneFile(size: size))
        try await session.send(Raw.file("f.bin", size: size))
        let start = ContinuousClock.now
        let trickle = Task {
            for _ in 0..<30 {
                do { try await session.send(Raw.data([0x42])) } catch { return }
                try? await Task.sleep(for: .seconds(2))
            }
        }
        let outcome = await session.finalAnswer(timeout: .seconds(30))
        let elapsed = (ContinuousClock.now - start).asSeconds
        trickle.cancel()
        _ = await trickle.value
        session.close()
        print("[hostile:rules] item 5 trickle: \(outcome) after \(String(format: "%.1f", elapsed)) s")
        // The byte count depends on how many 23-byte frames fell into the window.
        guard case .failure(let code, let text) = outcome else {
            Issue.record("\(probe.label): expected FAILURE(1), got \(outcome)")
            await lab.finish(probe, outcome: outcome, keepsPartial: true)
            return
        }
        #expect(code == .protocolViolation, "\(probe.label): FAILURE code \(code.rawValue)")
        #expect(text.hasPrefix("The transfer was too slow: ")
                && text.contains(" arrived in 6 s, under the minimum progress of 16.0 KiB per 6 s (a trickle cannot hold a transfer open). Kept: the first ")
                && text.hasSuffix(" of f.bin; sending again sends only the rest."),
                "\(probe.label): FAILURE text \"\(text)\"")
        #expect(elapsed >= Self.progressWindow - 0.5 && elapsed <= Self.progressWindow + 4,
                "\(probe.label): cut off after \(elapsed) s, window \(Self.progressWindow) s")
        await lab.finish(probe, outcome: outcome, keepsPartial: true)
    }

    @Test("A trickle into a file of up to 64 KiB is cut off too, and the FAILURE says nothing was kept (such a file is never kept unfinished)")
    func trickleIntoSmallFileKeepsNothing() async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("item 5 trickle into a 1000-byte file")
        let session = try await lab.hostile.openAccepted(port: lab.port, offer: StreamCase.oneFile(size: 1000))
        try await session.send(Raw.file("f.bin", size: 1000))
        let trickle = Task {
            for _ in 0..<30 {
                do { try await session.send(Raw.data([0x42])) } catch { return }
                try? await Task.sleep(for: .seconds(2))
            }
        }
        let outcome = await session.finalAnswer(timeout: .seconds(30))
        trickle.cancel()
        _ = await trickle.value
        session.close()
        guard case .failure(_, let text) = outcome else {
            Issue.record("\(probe.label): expected FAILURE(1), got \(outcome)")
            await lab.finish(probe, outcome: outcome)
            return
        }
        #expect(text.hasSuffix("(a trickle cannot hold a transfer open). Nothing was kept (the unfinished f.bin was not); sending again starts over."),
                "\(probe.label): FAILURE text \"\(text)\"")
        await lab.finish(probe, outcome: outcome)
    }

    @Test("A sender that keeps up the minimum progress is not cut off (item 5)")
    func steadySenderIsServed() async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("item 5 steady 20 KiB every 2 s for 14 s")
        let piece = 20 << 10
        let count = 7
        let session = try await lab.hostile.openAccepted(port: lab.port, offer: StreamCase.oneFile(size: UInt64(piece * count)))
        try await session.send(Raw.file("f.bin", size: UInt64(piece * count)))
        for index in 0..<count {
            try await session.send(Raw.data(Raw.pattern(piece, seed: UInt8(index))))
            if index < count - 1 { try await Task.sleep(for: .seconds(2)) }
        }
        try await session.send(Raw.end(files: 1, bytes: UInt64(piece * count)), final: true)
        let outcome = await session.finalAnswer()
        session.close()
        guard case .done = outcome else {
            Issue.record("\(probe.label): expected DONE, got \(outcome)")
            await lab.finish(probe, outcome: outcome, expect: .checkedByTest, keepsPartial: true)
            return
        }
        await lab.finish(probe, outcome: outcome, expect: .exactly([Array("f.bin".utf8)]))
    }

    // MARK: Item 6: tags, END, malformed OFFER

    @Test("DATA carrying the secretstream PUSH tag, and an ENTRY carrying REKEY, are refused as protocol errors (item 6)",
          arguments: [SecretStreamTag.push, SecretStreamTag.rekey])
    func otherTagsAreRefused(_ tag: SecretStreamTag) async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("item 6 a message with the \(tag) tag")
        let session = try await lab.hostile.openAccepted(port: lab.port, offer: StreamCase.oneFile(size: 5))
        if tag == .push {
            try await session.send(Raw.file("f.bin", size: 5))
            try await session.send(Raw.data(Raw.pattern(5)), tag: tag)
        } else {
            try await session.send(Raw.file("f.bin", size: 5), tag: tag)
        }
        let outcome = await session.finalAnswer()
        session.close()
        Self.expectFailure(outcome, .protocolViolation,
                           "Protocol error: a message carrying the secretstream \(tag) tag (only MESSAGE, and FINAL on the last message, are allowed).",
                           probe.label)
        await lab.finish(probe, outcome: outcome)
    }

    @Test("A frame after the final END is a protocol error: FAILURE instead of DONE, and the file is not placed (item 6)")
    func frameAfterEnd() async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("item 6 a frame after END")
        let session = try await lab.hostile.openAccepted(port: lab.port, offer: StreamCase.oneFile(size: 5))
        try await session.perform([.message(Raw.file("f.bin", size: 5)), .message(Raw.data(Raw.pattern(5)))])
        // END and one more frame (44 bytes) in one write, so the agent has both when it reads END.
        let end = try session.seal(Raw.end(files: 1, bytes: 5), final: true)
        try await session.perform([.rawBytes(Frame.encode(end) + Frame.encode(Raw.pattern(40)))])
        let outcome = await session.finalAnswer()
        session.close()
        Self.expectFailure(outcome, .protocolViolation, "Protocol error: the peer sent 44 more byte(s) after its final message.", probe.label)
        await lab.finish(probe, outcome: outcome)
    }

    @Test("A malformed OFFER is answered REFUSE 5 (bad offer) with the reason (item 6)", arguments: 0..<3)
    func malformedOffer(_ variant: Int) async throws {
        let lab = try #require(Lab.current)
        let cases: [(String, [UInt8], Bool, String)] = [
            ("an OFFER with a trailing byte", Raw.offer(files: 1, total: 0, names: ["a"]) + [0], false,
             "bad offer: 1 unexpected bytes after the end of a message"),
            ("an ENTRY instead of the OFFER", Raw.file("f.bin", size: 1), false,
             "bad offer: expected an OFFER without the final tag, got ENTRY"),
            ("an OFFER carrying TAG_FINAL", StreamCase.oneFile(size: 1), true,
             "bad offer: expected an OFFER without the final tag, got OFFER with the final tag"),
        ]
        let (label, offer, final, text) = cases[variant]
        let probe = lab.begin("item 6 \(label)")
        let session = try await lab.hostile.openKnown(port: lab.port)
        let outcome = try await session.offer(offer, final: final)
        session.close()
        Self.expectRefuse(outcome, .badOffer, text, probe.label)
        await lab.finish(probe, outcome: outcome)
    }

    // MARK: Item 7: who closed, and why

    @Test("A handshake message out of turn after M2 is answered with an abort that names it (item 7)")
    func outOfTurnAfterM2() async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("item 7 M5 instead of M3")
        let socket = try await PeerSocket.connect(port: lab.port)
        defer { socket.close() }
        let summary = Raw.summary(sender: "early", names: ["x"])
        let attempt = SenderAttempt(socket: socket, identity: .generate(), pinnedReceiver: nil, summary: summary)
        try await attempt.sendM1()
        if let refused = await attempt.readM2() { throw HarnessError("no M2 but \(refused)") }
        try await socket.sendFrame([5] + Random.bytes(96))
        let outcome = Outcome(await socket.readFrame(timeout: .seconds(10)))
        guard case .abort(let notice) = outcome else {
            Issue.record("\(probe.label): expected an abort, got \(outcome)")
            await lab.finish(probe, outcome: outcome)
            return
        }
        #expect(notice.reason == AbortNotice.protocolError, "\(probe.label): abort reason \(notice.reason)")
        #expect(notice.text == "a handshake message out of turn: expected M3 (the offer), got message type 5",
                "\(probe.label): abort text \"\(notice.text)\"")
        await lab.finish(probe, outcome: outcome)
    }

    @Test("Connections the agent closes itself (eviction from the handshake slots, the 15 s deadline) are logged as closed by the agent, with the reason (item 7)")
    func agentClosesAreNamed() async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("item 7 eviction and handshake deadline")
        var sockets: [PeerSocket] = []
        defer { sockets.forEach { $0.close() } }
        // Four silent connections fill the 4 slots; a fifth evicts the oldest.
        for _ in 0..<4 {
            sockets.append(try await PeerSocket.connect(port: lab.port))
            try await Task.sleep(for: .milliseconds(100))
        }
        sockets.append(try await PeerSocket.connect(port: lab.port))
        let evicted = await sockets[0].readFrame(timeout: .seconds(5))
        #expect(evicted.isClosed, "\(probe.label): the oldest silent connection was not closed: \(evicted)")
        let evictionText = "This side closed the connection to make room for a new one: all 4 handshake slots were taken, and this was the oldest connection that had not yet shown it is a real peer."
        #expect(await lab.waitForAgentOutput(evictionText, since: probe),
                "\(probe.label): the agent did not log the eviction as its own:\n\(lab.agentOutput(since: probe))")
        // The others reach the M1 deadline.
        let timedOut = await sockets[1].drainUntilClosed(timeout: .seconds(25))
        #expect(timedOut.end.isClosed, "\(probe.label): the silent connection was not closed at the deadline: \(timedOut.end)")
        let deadlineText = "Timed out after 15 s waiting for the first handshake message; this side closed the connection."
        #expect(await lab.waitForAgentOutput(deadlineText, since: probe),
                "\(probe.label): the agent did not log the deadline as its own:\n\(lab.agentOutput(since: probe))")
        #expect(!lab.agentOutput(since: probe).contains("The connection closed while waiting for the first handshake message"),
                "\(probe.label): a connection the agent closed is logged as closed by the peer")
        sockets.forEach { $0.close() }
        await lab.finish(probe, outcome: nil)
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    var asSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
