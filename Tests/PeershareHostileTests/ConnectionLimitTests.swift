import Foundation
import Glibc
import PeershareCore
import PeershareSpec
import SodiumKit
import Testing

/// Resources spent before authentication, and the people in the loop (hostile-inputs.md items
/// 24–26, KDE Connect CVE-2020-26164): slow peers, connection and offer floods, code guessing.
@Suite("Connection limits and floods", .serialized, .lab("limits", offerTimeout: 10))
struct ConnectionLimitTests {
    /// The agent's `--offer-timeout` in this suite.
    static let offerTimeout = 10.0

    /// Elapsed time and how a slow scenario ended.
    struct Slow: Sendable, CustomStringConvertible {
        let label: String
        let outcome: String
        let closed: Bool
        let expired: Bool
        let seconds: Double
        var description: String { "\(label): \(outcome) after \(String(format: "%.1f", seconds)) s" }
    }

    /// Reads until the agent closes (or sends an abort notice), up to `limit`; the clock
    /// starts at `start`.
    static func waitForClose(_ socket: PeerSocket, label: String, since start: ContinuousClock.Instant,
                             limit: Duration = .seconds(45)) async -> Slow {
        let (frames, end) = await socket.drainUntilClosed(timeout: limit - (ContinuousClock.now - start))
        let abort = frames.last.flatMap(AbortNotice.init)
        let seconds = Double((ContinuousClock.now - start).components.seconds)
            + Double((ContinuousClock.now - start).components.attoseconds) / 1e18
        socket.close()
        return Slow(label: label, outcome: abort.map { "\($0)" } ?? "\(end)", closed: end.isClosed,
                    expired: abort?.reason == AbortNotice.expired, seconds: seconds)
    }

    @Test("Slow and silent peers are cut off at the documented limits, and others are served meanwhile (item 24)")
    func slowloris() async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("item 24 slowloris")
        let port = lab.port
        let hostile = lab.hostile
        // 1. Connect and send nothing: the M1 deadline (15 s).
        async let silent: Slow = {
            let socket = try await PeerSocket.connect(port: port)
            return await Self.waitForClose(socket, label: "silent after connect", since: socket.connectedAt)
        }()
        // 2. A valid M1, one byte per second: trickling does not extend the deadline.
        async let trickle: Slow = {
            let socket = try await PeerSocket.connect(port: port)
            let m1 = Frame.encode(SpecHandshake.m1(mode: SpecHandshake.pair, nonce: Random.bytes(32),
                                                   ephemeralKey: KXKeyPair.generate().publicKey,
                                                   identityKey: SigningKeyPair.generate().publicKey))
            for byte in m1 {
                do { try await socket.send([byte]) } catch { break }
                let read = await socket.readFrame(timeout: .seconds(1))
                if read.isClosed || read.payload != nil { break }
                if ContinuousClock.now - socket.connectedAt > .seconds(45) { break }
            }
            return await Self.waitForClose(socket, label: "M1 at one byte per second", since: socket.connectedAt)
        }()
        // 3. KNOWN: M1, then silence after M4 (the M5 deadline).
        async let noM5: Slow = {
            let socket = try await PeerSocket.connect(port: port)
            let attempt = SenderAttempt(socket: socket, identity: hostile.identity, pinnedReceiver: hostile.agentKey, summary: [])
            try await attempt.sendM1()
            _ = await attempt.readM2()
            _ = try attempt.handleM2()
            _ = await attempt.readM4()
            return await Self.waitForClose(socket, label: "silent instead of M5", since: .now)
        }()
        // 4. PAIR: M3 sent, nobody types the code (the person's deadline, --offer-timeout).
        async let noCode: Slow = {
            let socket = try await PeerSocket.connect(port: port)
            let summary = Raw.summary(sender: "nobody-answers", names: ["x"])
            let attempt = SenderAttempt(socket: socket, identity: .generate(), pinnedReceiver: nil, summary: summary)
            try await attempt.sendM1()
            _ = await attempt.readM2()
            let m3 = try attempt.handleM2()?.m3 ?? []
            try await socket.sendFrame(m3)
            return await Self.waitForClose(socket, label: "code never typed", since: .now)
        }()
        // 5. Authenticated, but no OFFER.
        async let noOffer: Slow = {
            let session = try await hostile.openKnown(port: port)
            return await Self.waitForClose(session.socket, label: "authenticated, no OFFER", since: .now)
        }()
        // 6. Accepted, then silence mid-transfer (the idle limit, 30 s).
        async let stalled: Slow = {
            let size = UInt64(StreamTests.resumableSize)  // kept when cut (over the nameless-file limit)
            let session = try await hostile.openAccepted(port: port, offer: Raw.offer(files: 1, total: size, names: ["stall.bin"]))
            try await session.perform([.message(Raw.file("stall.bin", size: size)), .message(Raw.data(Raw.pattern(4)))])
            return await Self.waitForClose(session.socket, label: "stalled mid-file", since: .now)
        }()
        // Meanwhile an honest peer is served.
        try await Task.sleep(for: .seconds(2))
        let during = await lab.honestSend()
        #expect(during.ok, "item 24: an honest peer was not served while slow peers were connected: \(during.detail)")

        let results = try await [silent, trickle, noM5, noCode, noOffer, stalled]
        for result in results { print("[hostile:limits] item 24 \(result)") }
        let handshakeStep = 15.0
        for result in results[0..<3] + [results[4]] {
            #expect(result.closed, "item 24 \(result.label): the connection was not closed (\(result))")
            #expect(result.seconds >= handshakeStep - 1.5 && result.seconds <= handshakeStep + 5,
                    "item 24 \(result.label): closed after \(result.seconds) s, documented \(handshakeStep) s")
        }
        #expect(results[3].expired, "item 24 code never typed: expected an abort with reason 3 (expired), got \(results[3])")
        #expect(results[3].seconds >= Self.offerTimeout - 1.5 && results[3].seconds <= Self.offerTimeout + 5,
                "item 24 code never typed: ended after \(results[3].seconds) s, --offer-timeout \(Self.offerTimeout) s")
        #expect(results[5].closed && results[5].seconds >= 28 && results[5].seconds <= 40,
                "item 24 stalled transfer: \(results[5]), documented idle limit 30 s")
        // The stalled transfer was cut mid-file: its bytes are kept for a resume.
        await lab.finish(probe, outcome: nil, keepsPartial: true)
    }

    /// Starts a PAIR offer from `source` with a fresh identity; nil when it is pending (no
    /// answer within `wait`), else the agent's answer. The socket stays open in `sockets`.
    static func pendingOffer(_ lab: Lab, from source: String, sockets: inout [PeerSocket], wait: Duration = .milliseconds(700))
        async throws -> Outcome? {
        let summary = Raw.summary(sender: "flood", names: ["flood.txt"])
        let socket = try await PeerSocket.connect(port: lab.port, source: source)
        sockets.append(socket)
        let attempt = SenderAttempt(socket: socket, identity: .generate(), pinnedReceiver: nil, summary: summary)
        try await attempt.sendM1()
        if let refused = await attempt.readM2() { return refused }
        guard let (_, m3) = try attempt.handleM2() else { return .garbled("KNOWN") }
        try await socket.sendFrame(m3)
        let read = await socket.readFrame(timeout: wait)
        if read == .timedOut { return nil }
        return Outcome(read)
    }

    @Test("More than 2 pending offers from one address are refused as busy (item 25; the board's cap is OfferBoardTests')")
    func offerFlood() async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("item 25 offer flood")
        var sockets: [PeerSocket] = []
        defer { sockets.forEach { $0.close() } }
        let plan: [(String, Bool)] = [("127.0.0.1", false), ("127.0.0.1", false), ("127.0.0.1", true),
                                      ("127.0.0.2", false), ("127.0.0.2", false), ("127.0.0.3", false)]
        for (index, (source, busy)) in plan.enumerated() {
            // An offer that should be refused gets time to be refused even on a loaded machine.
            let answer = try await Self.pendingOffer(lab, from: source, sockets: &sockets,
                                                     wait: busy ? .seconds(5) : .milliseconds(700))
            print("[hostile:limits] item 25 offer \(index + 1) from \(source): \(answer.map { "\($0)" } ?? "pending")")
            if busy {
                guard case .abort(let notice) = answer else {
                    Issue.record("item 25 offer \(index + 1) from \(source): expected an abort as busy, got \(answer.map { "\($0)" } ?? "pending")")
                    continue
                }
                #expect(notice.reason == AbortNotice.busy, "item 25 offer \(index + 1): abort reason \(notice.reason), expected 4 (busy)")
                #expect(notice.text == "too many offers from your address are waiting for a decision (at most 2); try again later",
                        "item 25 offer \(index + 1): \(notice)")
            } else {
                #expect(answer == nil, "item 25 offer \(index + 1) from \(source) should be pending, got \(answer.map { "\($0)" } ?? "")")
            }
        }
        let pending = await lab.agent.pendingOffers()
        #expect(pending?.count == 5, "item 25: \(pending?.count ?? -1) offers pending, expected 5 (2 + 2 + 1)")
        // A paired peer is not held up by the pending offers.
        let during = await lab.honestSend()
        #expect(during.ok, "item 25: an honest paired peer was not served during the offer flood: \(during.detail)")
        sockets.forEach { $0.close() }
        sockets.removeAll()
        let deadline = ContinuousClock.now + .seconds(5)
        var left = pending?.count ?? 0
        while left > 0 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            left = await lab.agent.pendingOffers()?.count ?? -1
        }
        #expect(left == 0, "item 25: withdrawn offers still pending")
        // The cap is free again.
        let again = try await Self.pendingOffer(lab, from: "127.0.0.3", sockets: &sockets)
        #expect(again == nil, "item 25: an offer after the flood should be pending, got \(again.map { "\($0)" } ?? "")")
        sockets.forEach { $0.close() }
        try await Task.sleep(for: .milliseconds(200))
        await lab.finish(probe, outcome: nil)
    }

    @Test("Offers from one address are rate-limited, not only capped at 2 at a time (item 25)")
    func offerRate() async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("item 25 20 offers in a row from one address, each withdrawn")
        var answers: [String] = []
        var busy = 0
        for _ in 0..<20 {
            var sockets: [PeerSocket] = []
            let answer = try await Self.pendingOffer(lab, from: "127.0.0.5", sockets: &sockets, wait: .milliseconds(150))
            sockets.forEach { $0.close() }
            if case .abort(let notice) = answer, notice.reason == AbortNotice.busy { busy += 1 }
            answers.append(answer.map { "\($0)" } ?? "pending")
            // Let the agent notice the withdrawal, so the concurrent cap (2) is not what refuses.
            var left = 1
            let deadline = ContinuousClock.now + .seconds(3)
            while left > 0 && ContinuousClock.now < deadline {
                left = await lab.agent.pendingOffers()?.count ?? 0
                if left > 0 { try await Task.sleep(for: .milliseconds(20)) }
            }
        }
        print("[hostile:limits] item 25 offer rate: \(busy) of 20 refused as busy")
        #expect(busy > 0, "item 25: 20 offers in a row from one address were all shown to the person (no rate limit): \(answers)")
        await lab.finish(probe, outcome: nil)
    }

    @Test("A wrong code ends the attempt; 3 failures from one source block further pairing from it as busy (item 26)")
    func codeGuessing() async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("item 26 code guessing")
        let guesser = SigningKeyPair.generate()
        let summary = Raw.summary(sender: "guesser", names: ["guess.txt"])
        for round in 0..<3 {
            let socket = try await PeerSocket.connect(port: lab.port, source: "127.0.0.9")
            let attempt = SenderAttempt(socket: socket, identity: guesser, pinnedReceiver: nil, summary: summary)
            try await attempt.sendM1()
            if let refused = await attempt.readM2() {
                Issue.record("item 26 round \(round + 1): no M2 but \(refused)")
                socket.close()
                continue
            }
            guard let (code, m3) = try attempt.handleM2() else { throw HarnessError("KNOWN") }
            try await socket.sendFrame(m3)
            var pending = await lab.agent.pendingOffers() ?? []
            let deadline = ContinuousClock.now + .seconds(5)
            while pending.isEmpty && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
                pending = await lab.agent.pendingOffers() ?? []
            }
            let wrong = String(format: "%06d", ((Int(code) ?? 0) + 1) % 1_000_000)
            // `accept` waits for the outcome, which needs this attempt's next step: typed
            // meanwhile, and checked below (a wrong code is exit 5).
            let agent = lab.agent
            let typed = Task { await agent.accept(wrong) }
            switch await attempt.readM4() {
            case .success(let m4):
                #expect(attempt.checkM4(m4) == .wrongConfirmation, "item 26 round \(round + 1): a wrong code must fail the key confirmation")
            case .failure(let box):
                Issue.record("item 26 round \(round + 1): no M4 after a wrong code but \(box)")
            }
            // Round 1: the honest sender's reaction (abort, reason 2); round 2: a garbage M5;
            // round 3: the guesser just hangs up. Each is one failed guess.
            switch round {
            case 0: try? await socket.sendFrame(AbortNotice(reason: AbortNotice.wrongCode, text: "pairing failed").encoded)
            case 1: try? await socket.sendFrame([5] + Random.bytes(96))
            default: socket.close()
            }
            if round < 2 {
                let end = await socket.drainUntilClosed(timeout: .seconds(10))
                #expect(end.end.isClosed, "item 26 round \(round + 1): the agent did not end the attempt (\(end.end))")
                socket.close()
            }
            let typedResult = await typed.value
            #expect(typedResult.exited(5), "item 26 round \(round + 1): a wrong code must make accept exit 5: \(typedResult)")
            let reported = await lab.waitForAgentOutput(String(repeating: "Pairing with 127.0.0.9 failed", count: 1), since: probe)
            #expect(reported, "item 26: the agent did not report the failed pairing")
            // Wait until the agent counted this failure.
            let countDeadline = ContinuousClock.now + .seconds(5)
            while lab.agentOutput(since: probe).components(separatedBy: "Pairing with 127.0.0.9 failed").count - 1 < round + 1
                    && ContinuousClock.now < countDeadline {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        // Now blocked: same key and address, a new key from the same address, the same key from elsewhere.
        for (source, identity, label) in [("127.0.0.9", guesser, "same key, same address"),
                                          ("127.0.0.9", SigningKeyPair.generate(), "new key, same address"),
                                          ("127.0.0.10", guesser, "same key, other address")] {
            let socket = try await PeerSocket.connect(port: lab.port, source: source)
            let attempt = SenderAttempt(socket: socket, identity: identity, pinnedReceiver: nil, summary: summary)
            try await attempt.sendM1()
            let answer = await attempt.readM2()
            socket.close()
            print("[hostile:limits] item 26 4th attempt (\(label)): \(answer.map { "\($0)" } ?? "M2 (allowed)")")
            guard case .abort(let notice) = answer else {
                Issue.record("item 26 (\(label)): expected a busy abort after 3 failures, got \(answer.map { "\($0)" } ?? "M2 (pairing allowed)")")
                continue
            }
            #expect(notice.reason == AbortNotice.busy, "item 26 (\(label)): abort reason \(notice.reason), expected 4 (busy)")
            #expect(notice.text.contains("too many failed pairing attempts"), "item 26 (\(label)): \(notice)")
        }
        // Others may still pair, and paired peers are not blocked even from that address.
        let other = try await PeerSocket.connect(port: lab.port, source: "127.0.0.11")
        let otherAttempt = SenderAttempt(socket: other, identity: .generate(), pinnedReceiver: nil, summary: summary)
        try await otherAttempt.sendM1()
        let otherAnswer = await otherAttempt.readM2()
        other.close()
        #expect(otherAnswer == nil, "item 26: a new peer at another address was refused: \(String(describing: otherAnswer))")
        let known = try await lab.hostile.openKnown(port: lab.port, source: "127.0.0.9")
        known.close()
        try await Task.sleep(for: .milliseconds(200))
        await lab.finish(probe, outcome: nil)
    }

    @Test("A flood of 100 silent connections: bounded descriptors and memory, honest peers still served (item 24, KDE Connect CVE-2020-26164)")
    func unauthenticatedFlood() async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("KDE Connect CVE-2020-26164 flood of 100 silent connections")
        let baseFDs = try #require(lab.agent.openDescriptors(), "cannot count the agent's descriptors in /proc")
        let baseRSS = try #require(lab.agent.residentKiB(), "cannot read the agent's resident size from /proc")
        var sockets: [PeerSocket] = []
        defer { sockets.forEach { $0.close() } }
        for _ in 0..<100 { sockets.append(try await PeerSocket.connect(port: lab.port)) }
        try await Task.sleep(for: .milliseconds(500))
        let floodFDs = try #require(lab.agent.openDescriptors(), "cannot count the agent's descriptors in /proc")
        let floodRSS = try #require(lab.agent.residentKiB(), "cannot read the agent's resident size from /proc")
        var closedByAgent = 0
        for socket in sockets where (await socket.readFrame(timeout: .milliseconds(5))).isClosed { closedByAgent += 1 }
        print("[hostile:limits] flood: fds \(baseFDs) → \(floodFDs), RSS \(baseRSS) → \(floodRSS) KiB, \(closedByAgent) of 100 closed at once by the agent")
        #expect(floodFDs <= baseFDs + 32 + 8, "open descriptors grew from \(baseFDs) to \(floodFDs) (cap 32 unauthenticated)")
        #expect(floodRSS <= baseRSS + 32 * 1024, "RSS grew from \(baseRSS) to \(floodRSS) KiB")
        // The brief: the agent must still serve an honest (paired) peer during the flood.
        let during = await lab.honestSend(timeout: .seconds(20))
        #expect(during.ok, "an honest paired peer was not served while 100 silent connections were open: \(during.detail)")
        sockets.forEach { $0.close() }
        sockets.removeAll()
        let deadline = ContinuousClock.now + .seconds(10)
        var after = try #require(lab.agent.openDescriptors(), "cannot count the agent's descriptors in /proc")
        while after > baseFDs + 4 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            after = try #require(lab.agent.openDescriptors(), "cannot count the agent's descriptors in /proc")
        }
        #expect(after <= baseFDs + 4, "descriptors did not return to \(baseFDs) after the flood: \(after)")
        await lab.finish(probe, outcome: nil)
    }

    @Test("Unauthenticated peers cannot make the agent buffer more than the handshake cap each (item 24, KDE Connect CVE-2020-26164)")
    func unauthenticatedMemory() async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("KDE Connect CVE-2020-26164 memory: 32 almost-complete 64 KiB frames, 100 frames of 4 GiB")
        let baseRSS = try #require(lab.agent.residentKiB(), "cannot read the agent's resident size from /proc")
        var sockets: [PeerSocket] = []
        defer { sockets.forEach { $0.close() } }
        for _ in 0..<32 {
            let socket = try await PeerSocket.connect(port: lab.port)
            try await socket.send(Frame.header(65_536) + Raw.pattern(65_535))
            sockets.append(socket)
        }
        var refusedHuge = 0
        for _ in 0..<100 {
            let socket = try await PeerSocket.connect(port: lab.port)
            try? await socket.send(Frame.header(UInt32.max) + Raw.pattern(1024))
            if (await socket.readFrame(timeout: .seconds(2))).isClosed { refusedHuge += 1 }
            socket.close()
        }
        try await Task.sleep(for: .milliseconds(300))
        let floodRSS = try #require(lab.agent.residentKiB(), "cannot read the agent's resident size from /proc")
        print("[hostile:limits] memory flood: RSS \(baseRSS) → \(floodRSS) KiB; \(refusedHuge) of 100 4-GiB frames refused")
        #expect(refusedHuge == 100, "only \(refusedHuge) of 100 connections announcing a 4 GiB frame were closed")
        #expect(floodRSS <= baseRSS + 32 * 1024, "RSS grew from \(baseRSS) to \(floodRSS) KiB")
        sockets.forEach { $0.close() }
        sockets.removeAll()
        try await Task.sleep(for: .milliseconds(300))
        await lab.finish(probe, outcome: nil)
    }
}
