import Foundation
import Glibc
import PeershareCore
import PeershareSpec
import SodiumKit
import Testing

/// Raw bytes sent as the very first thing on a connection (before any authentication).
struct PreAuthCase: Sendable, CustomTestStringConvertible {
    let item: Int
    let label: String
    let bytes: [UInt8]
    /// The agent's answer: an abort with reason 5 (protocol error) naming what is wrong, or,
    /// for bytes that are not a peershare frame and for the peer's own abort, a close
    /// without a word, with why that is right.
    let answer: Rejection

    var testDescription: String { "item \(item): \(label)" }

    static func m1(magic: [UInt8] = Array("PSHR".utf8), version: UInt8 = 1, type: UInt8 = 1, mode: UInt8 = 1,
                   keys: [UInt8] = Random.bytes(96)) -> [UInt8] {
        magic + [version, type, mode] + keys
    }

    /// An abort with reason 5 (protocol error) whose text contains `text`.
    static func refused(_ text: String) -> Rejection { .abort(AbortNotice.protocolError, text) }

    static let notAFrame = Rejection.silentClose(because: "not a peershare frame: nothing speaks the protocol there to be told")
    static let badMagic = refused("The peer sent a malformed handshake message (not a peershare handshake (bad magic))")

    static let all: [PreAuthCase] = [
        PreAuthCase(item: 23, label: "bad magic", bytes: Frame.encode(m1(magic: Array("XSHR".utf8))), answer: badMagic),
        PreAuthCase(item: 23, label: "protocol version 3", bytes: Frame.encode(m1(version: 3)),
                    answer: refused(HandshakeWire.unsupportedVersionText(3))),
        PreAuthCase(item: 23, label: "protocol version 0 (downgrade)", bytes: Frame.encode(m1(version: 0)),
                    answer: refused(HandshakeWire.unsupportedVersionText(0))),
        PreAuthCase(item: 23, label: "protocol version 255", bytes: Frame.encode(m1(version: 255)),
                    answer: refused("unsupported protocol version 255; supported versions: 1")),
        PreAuthCase(item: 23, label: "M1 with message type 2", bytes: Frame.encode(m1(type: 2)),
                    answer: refused("The peer sent a handshake message out of turn")),
        PreAuthCase(item: 23, label: "M1 with message type 9", bytes: Frame.encode(m1(type: 9)),
                    answer: refused("The peer sent a malformed handshake message (unknown message type 9)")),
        PreAuthCase(item: 23, label: "M1 with mode 3", bytes: Frame.encode(m1(mode: 3)),
                    answer: refused("The peer sent a malformed handshake message (unknown mode 3)")),
        PreAuthCase(item: 23, label: "M1 with mode 0", bytes: Frame.encode(m1(mode: 0)),
                    answer: refused("The peer sent a malformed handshake message (unknown mode 0)")),
        PreAuthCase(item: 20, label: "M1 one byte short", bytes: Frame.encode(Array(m1().dropLast())),
                    answer: refused("The peer sent a malformed handshake message (truncated IDs_pk)")),
        PreAuthCase(item: 20, label: "M1 with a trailing byte", bytes: Frame.encode(m1() + [0]),
                    answer: refused("The peer sent a malformed handshake message (1 trailing bytes)")),
        PreAuthCase(item: 23, label: "an M3 as the first message", bytes: Frame.encode([3] + Random.bytes(120)), answer: badMagic),
        PreAuthCase(item: 23, label: "an M5 as the first message", bytes: Frame.encode([5] + Random.bytes(96)), answer: badMagic),
        PreAuthCase(item: 23, label: "an abort notice as the first message",
                    bytes: Frame.encode(AbortNotice(reason: 4, text: "\u{1B}[2Jbusy").encoded),
                    answer: .silentClose(because: "the peer aborted: an abort is not answered with an abort")),
        // "PSHR" as the first 4 of 103 random bytes: 2^-32.
        PreAuthCase(item: 23, label: "103 random bytes", bytes: Frame.encode(Random.bytes(103)), answer: badMagic),
        PreAuthCase(item: 20, label: "a 65536-byte frame of garbage (at the cap)", bytes: Frame.encode(Random.bytes(65_536)), answer: badMagic),
        PreAuthCase(item: 20, label: "length prefix 65537 (over the cap)", bytes: Frame.header(65_537) + Random.bytes(64), answer: notAFrame),
        PreAuthCase(item: 20, label: "length prefix 2^32-1", bytes: Frame.header(UInt32.max), answer: notAFrame),
        PreAuthCase(item: 20, label: "length prefix 0", bytes: Frame.header(0), answer: notAFrame),
        PreAuthCase(item: 23, label: "an HTTP request", bytes: Array("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8), answer: notAFrame),
        PreAuthCase(item: 23, label: "a TLS ClientHello", bytes: [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03] + Random.bytes(64),
                    answer: notAFrame),
    ]
}

/// The handshake under attack (hostile-inputs.md items 20, 23, 27, 28): malformed first
/// messages, bad crypto inputs, replays and impersonation, and a known name with a new key.
@Suite("Handshake", .serialized, .lab("handshake", offerTimeout: 30))
struct HandshakeTests {
    @Test("Malformed, oversized or foreign first messages are refused at once, without an M2", arguments: PreAuthCase.all)
    func preAuthentication(_ preAuth: PreAuthCase) async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("item \(preAuth.item) first message: \(preAuth.label)")
        let socket = try await PeerSocket.connect(port: lab.port)
        try? await socket.send(preAuth.bytes)
        // Read for 10 s, less than the agent's 15 s first-message deadline: an answer or a
        // close within that came from the agent refusing these bytes, not from its timer.
        let outcome = Outcome(await socket.readFrame(timeout: .seconds(10)))
        socket.close()
        lab.expectRejected(outcome, probe.label, preAuth.answer)
        await lab.finish(probe, outcome: outcome)
    }

    static let lowOrderKeys: [(String, [UInt8])] = [
        ("0", [UInt8](repeating: 0, count: 32)),
        ("1", [1] + [UInt8](repeating: 0, count: 31)),
        ("order 8 (e0eb7a7c…)", Hex.decode("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800") ?? []),
        ("order 8 (5f9c95bc…)", Hex.decode("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157") ?? []),
        ("p-1", Hex.decode("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f") ?? []),
        ("p", Hex.decode("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f") ?? []),
        ("p+1", Hex.decode("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f") ?? []),
    ]

    @Test("A low-order X25519 key in M1 is refused before M2 (item 27)", arguments: 0..<7)
    func lowOrderEphemeralKey(_ index: Int) async throws {
        let lab = try #require(Lab.current)
        let (label, key) = Self.lowOrderKeys[index]
        let probe = lab.begin("item 27 low-order eS_pk \(label)")
        let socket = try await PeerSocket.connect(port: lab.port)
        let m1 = SpecHandshake.m1(mode: SpecHandshake.pair, nonce: Random.bytes(32), ephemeralKey: key,
                                  identityKey: SigningKeyPair.generate().publicKey)
        try await socket.sendFrame(m1)
        let outcome = Outcome(await socket.readFrame(timeout: .seconds(10)))
        socket.close()
        lab.expectRejected(outcome, probe.label,
                           .abort(AbortNotice.protocolError, "The peer sent an invalid key-exchange key; the connection was closed."))
        await lab.finish(probe, outcome: outcome)
    }

    /// Plays a PAIR handshake with a fresh identity up to M3, lets `tamper` change M3, and
    /// returns what the agent answered.
    static func pairingWithTamperedM3(_ lab: Lab, _ tamper: (inout [UInt8]) -> Void) async throws -> Outcome {
        let summary = Raw.summary(sender: "ya-tester", names: ["x"])
        let socket = try await PeerSocket.connect(port: lab.port)
        defer { socket.close() }
        let attempt = SenderAttempt(socket: socket, identity: .generate(), pinnedReceiver: nil, summary: summary)
        try await attempt.sendM1()
        if let refused = await attempt.readM2() { return refused }
        guard let (_, m3) = try attempt.handleM2() else { return .garbled("KNOWN answered to a PAIR request") }
        var tampered = m3
        tamper(&tampered)
        try await socket.sendFrame(tampered)
        return Outcome(await socket.readFrame(timeout: .seconds(10)))
    }

    static let badShares: [(String, [UInt8])] = [
        ("the identity point", [UInt8](repeating: 0, count: 32)),
        ("all 0xFF (not canonical)", [UInt8](repeating: 0xFF, count: 32)),
        ("a non-canonical encoding (p)", Hex.decode("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f") ?? []),
        ("a negative field element (1)", [1] + [UInt8](repeating: 0, count: 31)),
        ("random bytes", Hex.decode("f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f00") ?? []),
    ]

    @Test("An identity or invalid ristretto255 point as Ya is refused, and no offer is shown (item 27)", arguments: 0..<5)
    func invalidShare(_ index: Int) async throws {
        let lab = try #require(Lab.current)
        let (label, share) = Self.badShares[index]
        let probe = lab.begin("item 27 Ya = \(label)")
        let outcome = try await Self.pairingWithTamperedM3(lab) { m3 in m3.replaceSubrange(1..<33, with: share) }
        lab.expectRejected(outcome, probe.label, .abort(AbortNotice.protocolError, "M3 carries an invalid pairing value"))
        let offers = await lab.agent.pendingOffers() ?? []
        #expect(offers.isEmpty, "\(probe.label): an offer is pending")
        await lab.finish(probe, outcome: outcome)
    }

    @Test("A tampered M3 (sealed summary, length field) is refused, and no offer is shown (item 27)", arguments: 0..<3)
    func tamperedM3(_ variant: Int) async throws {
        let lab = try #require(Lab.current)
        let labels = ["a flipped byte in the sealed summary", "a length field past the frame end", "a length field under 40"]
        let answers = ["the offer summary in M3 failed authentication (tampered with on the way?)",
                       "a malformed M3 (the offer): truncated sealed summary",
                       "a malformed M3 (the offer): sealed summary of 39 bytes is too short"]
        let probe = lab.begin("item 27 M3 with \(labels[variant])")
        let outcome = try await Self.pairingWithTamperedM3(lab) { m3 in
            switch variant {
            case 0: m3[m3.count - 3] ^= 0x10
            case 1: m3[33] = 0x00; m3[34] = 0x01; m3[35] = 0x00; m3[36] = 0x00
            default: m3[33] = 0; m3[34] = 0; m3[35] = 0; m3[36] = 39
            }
        }
        lab.expectRejected(outcome, probe.label, .abort(AbortNotice.protocolError, answers[variant]))
        let offers = await lab.agent.pendingOffers() ?? []
        #expect(offers.isEmpty, "\(probe.label): an offer is pending")
        await lab.finish(probe, outcome: outcome)
    }

    @Test("A replayed old M1 and M5 do not open a session (item 27)")
    func replayedHandshake() async throws {
        let lab = try #require(Lab.current)
        let agentKey = try #require(lab.hostile.agentKey)
        // An honest KNOWN session, recorded.
        let first = try await PeerSocket.connect(port: lab.port)
        let recorded = SenderAttempt(socket: first, identity: lab.hostile.identity, pinnedReceiver: agentKey, summary: [])
        try await recorded.sendM1()
        if let refused = await recorded.readM2() { throw HarnessError("no M2: \(refused)") }
        _ = try recorded.handleM2()
        guard case .success(let firstM4) = await recorded.readM4() else { throw HarnessError("no M4") }
        let session = try await recorded.finish(m4: firstM4)
        session.close()

        let probe = lab.begin("item 27 replayed M1 and M5")
        let socket = try await PeerSocket.connect(port: lab.port)
        try await socket.sendFrame(recorded.m1)
        // A replayed M1 cannot be told from a fresh one: it is answered with a fresh M2, and
        // the replayed M5 then fails against the new transcript.
        let m2 = await socket.readFrame(timeout: .seconds(10))
        guard case .frame(let replayM2) = m2 else {
            Issue.record("\(probe.label): expected a fresh M2 to the replayed M1, got \(m2)")
            await lab.finish(probe, outcome: Outcome(m2))
            return
        }
        #expect(replayM2 != recorded.m2, "the agent answered a replayed M1 with the same M2 (no fresh nonce and key)")
        #expect(Array(replayM2[2..<34]) != Array(recorded.m2[2..<34]), "nR repeated")
        #expect(Array(replayM2[34..<66]) != Array(recorded.m2[34..<66]), "eR_pk repeated")
        let m4 = await socket.readFrame(timeout: .seconds(10))
        if case .frame(let bytes) = m4 { #expect(bytes.first == 4, "expected M4, got \(m4)") }
        try? await socket.sendFrame(recorded.m5)
        let outcome = Outcome(await socket.readFrame(timeout: .seconds(10)))
        socket.close()
        // Anything but the agent's 24-byte stream header: it must not consider the peer authenticated.
        if case .handshakeFrame(let bytes) = outcome {
            Issue.record("\(probe.label): the agent answered the replayed M5 with a \(bytes.count)-byte frame (authenticated?)")
        }
        lab.expectRejected(outcome, probe.label, .abort(AbortNotice.security, "the key confirmation (M5) failed: wrong confirmation tag"))
        await lab.finish(probe, outcome: outcome)
    }

    enum M5Forgery: String, CaseIterable, Sendable {
        /// Control: the genuine identity signs; the agent must send its stream header.
        case genuine
        /// Right confirmation tag, signature by another key: someone who has the session keys
        /// but not the pinned identity's secret.
        case signedByAnotherKey
        /// Right signature, wrong tag.
        case wrongTag
        /// 97 random bytes of type 5.
        case garbage
    }

    @Test("A KNOWN session needs the pinned identity's own signature in M5 (items 27, 28)", arguments: M5Forgery.allCases)
    func forgedM5(_ forgery: M5Forgery) async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("item 27 KNOWN M5 \(forgery.rawValue)")
        let socket = try await PeerSocket.connect(port: lab.port)
        let ephemeral = KXKeyPair.generate()
        // Built from docs/PROTOCOL.md §3 (PeershareSpec), not from the product's key schedule.
        let m1 = SpecHandshake.m1(mode: SpecHandshake.known, nonce: Random.bytes(32), ephemeralKey: ephemeral.publicKey,
                                  identityKey: lab.hostile.identity.publicKey)
        try await socket.sendFrame(m1)
        guard case .frame(let m2) = await socket.readFrame(timeout: .seconds(10)) else { throw HarnessError("no M2") }
        let parsed = try SpecHandshake.M2(parsing: m2)
        #expect(parsed.mode == SpecHandshake.known)
        guard case .frame(let m4) = await socket.readFrame(timeout: .seconds(10)), m4.first == 4 else { throw HarnessError("no M4") }
        let th = try SpecHandshake.transcriptHash(m1: m1, m2: m2)
        let kx = try ephemeral.clientSessionKeys(serverPublicKey: parsed.ephemeralKey)
        let keys = try SpecHandshake.Keys(prk: SpecHandshake.prk(th: th, isk: [], kxC2S: kx.transmit.bytes, kxS2C: kx.receive.bytes))
        let input = SpecHandshake.authInput(role: "S", th: th, ya: [], yb: [], summaryHash: [])
        let m5: [UInt8]
        switch forgery {
        case .genuine, .signedByAnotherKey:
            let signature = (forgery == .genuine ? lab.hostile.identity : SigningKeyPair.generate()).sign(input)
            m5 = SpecHandshake.m5(signature: signature, tag: SpecHandshake.tag(authInput: input, signature: signature,
                                                                               key: keys.confirmSender))
        case .wrongTag:
            m5 = SpecHandshake.m5(signature: lab.hostile.identity.sign(input), tag: Random.bytes(32))
        case .garbage:
            m5 = [5] + Random.bytes(96)
        }
        try await socket.sendFrame(m5)
        let read = await socket.readFrame(timeout: .seconds(10))
        socket.close()
        let outcome = Outcome(read)
        if forgery == .genuine {
            #expect(read.payload?.count == 24,
                    "control: the genuine M5 should be answered with the 24-byte stream header, got \(read)")
        } else {
            if case .frame(let bytes) = read, AbortNotice(bytes) == nil {
                Issue.record("\(probe.label): the agent answered a forged M5 with a \(bytes.count)-byte frame that is no abort")
            }
            // Garbage fails the tag check first, like a wrong tag.
            let reason = forgery == .signedByAnotherKey ? "bad signature" : "wrong confirmation tag"
            lab.expectRejected(outcome, probe.label, .abort(AbortNotice.security, "the key confirmation (M5) failed: \(reason)"))
            // The person at the agent is told that a session used a paired key it could not
            // prove (a man in the middle would otherwise go unnoticed on this side).
            await lab.waitForAgentOutput("failed authentication", since: probe, timeout: .seconds(5))
            let output = lab.agentOutput(since: probe)
            #expect(output.contains("claimed to be the paired peer") && output.contains("failed authentication (\(reason))"),
                    "the agent does not tell its person: \(DisplayEscape.escape(output))")
            // Shown as a warning of its own, not as an offer from the peer it claimed to be.
            #expect(output.contains("Security warning: A session from") && !output.contains("Offer from"),
                    "the line reads as if the paired peer had sent it: \(DisplayEscape.escape(output))")
        }
        await lab.finish(probe, outcome: outcome)
    }

    @Test("A known name arriving with a new identity key is treated as unpaired, with a warning (item 28)", arguments: ["honest", "hostile"])
    func knownNameNewKey(_ name: String) async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("item 28 name \(name) with a new identity key")
        let pinsBefore = lab.agent.pins()
        #expect(pinsBefore.values.contains(name), "setup: \(name) should be a paired name: \(pinsBefore)")
        let impostor = SigningKeyPair.generate()
        let summary = Raw.summary(sender: name, names: ["from-\(name).txt"])
        let socket = try await PeerSocket.connect(port: lab.port)
        // It claims to know the agent (asks KNOWN), as the real peer would.
        let attempt = SenderAttempt(socket: socket, identity: impostor, pinnedReceiver: lab.agent.publicKey, summary: summary)
        try await attempt.sendM1()
        let refused = await attempt.readM2()
        #expect(refused == nil, "no M2: \(String(describing: refused))")
        #expect((try? SpecHandshake.M2(parsing: attempt.m2))?.mode == SpecHandshake.pair, "the agent granted KNOWN to an unpinned key")
        let pairing = try attempt.handleM2()
        #expect(attempt.fellBackToPairing)
        var offer: [String: Any]?
        if let (_, m3) = pairing {
            try await socket.sendFrame(m3)
            let deadline = ContinuousClock.now + .seconds(5)
            while offer == nil && ContinuousClock.now < deadline {
                offer = await lab.agent.pendingOffers()?.first
                if offer == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
        }
        #expect(offer?["needsCode"] as? Bool == true, "the offer does not ask for a code: \(String(describing: offer))")
        #expect(offer?["fingerprint"] as? String == Fingerprint.full(of: impostor.publicKey),
                "the offer does not show the new key's fingerprint: \(String(describing: offer))")
        let output = lab.agentOutput(since: probe)
        let warned = output.contains("A paired device is already named \"\(name)\" with another key")
        #expect(warned, "item 28: no warning that \"\(name)\" is paired with another key:\n\(DisplayEscape.escape(lab.agentOutput(since: probe)))")
        socket.close()
        try await Task.sleep(for: .milliseconds(200))
        #expect(lab.agent.pins() == pinsBefore, "the trust store changed: \(lab.agent.pins())")
        await lab.finish(probe, outcome: .closed)
    }

    @Test("After pairing, an OFFER other than the one the person approved is refused and the key is not pinned (item 27)")
    func substitutedSummary() async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("item 27 OFFER differs from the approved M3 summary")
        let pinsBefore = lab.agent.pins()
        let approved = Raw.summary(sender: "subst", names: ["approved.txt"])
        let socket = try await PeerSocket.connect(port: lab.port)
        defer { socket.close() }
        let attempt = SenderAttempt(socket: socket, identity: .generate(), pinnedReceiver: nil, summary: approved)
        try await attempt.sendM1()
        if let refused = await attempt.readM2() { throw HarnessError("no M2: \(refused)") }
        guard let (code, m3) = try attempt.handleM2() else { throw HarnessError("KNOWN") }
        try await socket.sendFrame(m3)
        var pending = await lab.agent.pendingOffers() ?? []
        let deadline = ContinuousClock.now + .seconds(5)
        while pending.isEmpty && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            pending = await lab.agent.pendingOffers() ?? []
        }
        // `accept` waits for the outcome, which needs the rest of this session.
        let agent = lab.agent
        let digits = code
        let typed = Task { await agent.accept(digits) }
        guard case .success(let m4) = await attempt.readM4() else { throw HarnessError("no M4") }
        let session = try await attempt.finish(m4: m4)
        let outcome = try await session.offer(Raw.offer(sender: "subst", files: 1000, total: 1 << 30, names: ["other.bin"]))
        session.close()
        let typedResult = await typed.value
        #expect(typedResult.exited(9) && typedResult.stderr.contains("differs"), "a substituted offer must make accept fail with the security status: \(typedResult)")
        lab.expectRejected(outcome, probe.label, .protocolError("the offer differs from the one approved"))
        try await Task.sleep(for: .milliseconds(200))
        #expect(lab.agent.pins() == pinsBefore, "the key of a peer whose offer was substituted got pinned: \(lab.agent.pins())")
        await lab.finish(probe, outcome: outcome)
    }

    @Test("A paired peer that takes another paired peer's name is not shown as that peer (item 28)")
    func pairedPeerTakesAnotherName() async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("item 28 paired hostile peer sends as \"honest\"")
        let session = try await lab.hostile.openAccepted(
            port: lab.port, offer: Raw.offer(sender: "honest", files: 1, total: 1, names: ["from-honest.txt"]))
        try await session.perform([.message(Raw.file("from-honest.txt", size: 1)), .message(Raw.data([1])),
                                   .final(Raw.end(files: 1, bytes: 1))])
        let outcome = await session.finalAnswer()
        session.close()
        _ = await lab.waitForAgentOutput("Received", since: probe, timeout: .seconds(5))
        let output = lab.agentOutput(since: probe)
        let fingerprint = Fingerprint.full(of: lab.hostile.identity.publicKey)
        let disambiguated = output.contains(fingerprint) || output.contains(String(fingerprint.prefix(19)))
        #expect(disambiguated, """
            item 28: the hostile peer's files are shown as coming from the paired peer "honest", without its \
            fingerprint:
            \(DisplayEscape.escape(output))
            """)
        let named = lab.agent.pins().values.filter { $0 == "honest" }.count
        #expect(named <= 1, "item 28: \(named) pinned keys are now named \"honest\": \(lab.agent.pins())")
        // Give the hostile peer its own name back for the other tests.
        let restore = try await lab.hostile.openAccepted(port: lab.port, offer: Raw.offer(files: 0, total: 0, names: []))
        try await restore.perform([.final(Raw.end(files: 0, bytes: 0))])
        _ = await restore.finalAnswer()
        restore.close()
        await lab.finish(probe, outcome: outcome, expect: .checkedByTest)
    }

    @Test("Messages out of turn in a KNOWN handshake end it (item 23)", arguments: [3, 1, 4, 0x7F])
    func outOfTurn(_ type: Int) async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("item 23 message type \(type) in place of M5")
        let socket = try await PeerSocket.connect(port: lab.port)
        let attempt = SenderAttempt(socket: socket, identity: lab.hostile.identity, pinnedReceiver: lab.hostile.agentKey, summary: [])
        try await attempt.sendM1()
        if let refused = await attempt.readM2() { throw HarnessError("no M2: \(refused)") }
        _ = try attempt.handleM2()
        _ = await attempt.readM4()
        let bytes: [UInt8] = switch type {
        case 1: attempt.m1
        case 0x7F: AbortNotice(reason: 6, text: "bye").encoded
        default: [UInt8(type)] + Random.bytes(96)
        }
        try? await socket.sendFrame(bytes)
        let outcome = Outcome(await socket.readFrame(timeout: .seconds(10)))
        socket.close()
        let answer: Rejection = switch type {
        case 0x7F: .silentClose(because: "the peer aborted: an abort is not answered with an abort")
        // M1 begins with the magic "PSHR": read as a message type, 0x50.
        case 1: .abort(AbortNotice.protocolError,
                       "the key confirmation (M5) was refused: The peer sent a malformed handshake message (unknown message type 80)")
        default: .abort(AbortNotice.protocolError, "a handshake message out of turn: expected M5 (the key confirmation), got message type \(type)")
        }
        lab.expectRejected(outcome, probe.label, answer)
        await lab.finish(probe, outcome: outcome)
    }
}

extension FrameRead {
    var payload: [UInt8]? {
        if case .frame(let bytes) = self { return bytes }
        return nil
    }
}
