import PeershareCore
import SodiumKit
import Testing

/// A valid ristretto255 element that is not any session's share (from the CPace vectors).
let foreignPoint: [UInt8] = Hex.decode("2c3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c") ?? []
let identityPoint = [UInt8](repeating: 0, count: 32)
let invalidPointEncoding: [UInt8] = Hex.decode("2b3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c") ?? []

@Suite("Handshake attacks")
struct HandshakeAttackTests {
    // MARK: Pairing code

    @Test func wrongCodeFailsConfirmationAtTheSender() {
        var scenario = HandshakeScenario()
        scenario.typedCode = otherCode(than:)
        #expect(scenario.run().failure == FlowFailure(step: .senderHandleM4, error: .confirmationFailed))
    }

    // MARK: Tampered transcript

    /// PAIR: the summary key is bound to the transcript hash, so any change to M1 or M2 is caught
    /// when the receiver opens M3.
    @Test(arguments: [Offset.m1Nonce, Offset.m1Nonce + 31, Offset.m1Ephemeral, Offset.m1Identity, Offset.m1Identity + 31])
    func tamperedM1FailsInPairMode(offset: Int) {
        var scenario = HandshakeScenario()
        scenario.tamperM1 = { flipping($0, at: offset) }
        #expect(scenario.run().failure == FlowFailure(step: .receiverHandleM3, error: .summaryUndecryptable))
    }

    @Test(arguments: [Offset.m2Nonce, Offset.m2Ephemeral, Offset.m2Identity + 5])
    func tamperedM2FailsInPairMode(offset: Int) {
        var scenario = HandshakeScenario()
        scenario.tamperM2 = { flipping($0, at: offset) }
        #expect(scenario.run().failure == FlowFailure(step: .receiverHandleM3, error: .summaryUndecryptable))
    }

    /// KNOWN: a changed transcript gives the two sides different keys; the sender sees it in tagR.
    @Test(arguments: [Offset.m1Nonce, Offset.m1Nonce + 31, Offset.m1Ephemeral + 3])
    func tamperedM1FailsConfirmationInKnownMode(offset: Int) {
        var scenario = HandshakeScenario.known()
        scenario.tamperM1 = { flipping($0, at: offset) }
        #expect(scenario.run().failure == FlowFailure(step: .senderHandleM4, error: .confirmationFailed))
    }

    @Test(arguments: [Offset.m2Nonce, Offset.m2Ephemeral + 7])
    func tamperedM2FailsConfirmationInKnownMode(offset: Int) {
        var scenario = HandshakeScenario.known()
        scenario.tamperM2 = { flipping($0, at: offset) }
        #expect(scenario.run().failure == FlowFailure(step: .senderHandleM4, error: .confirmationFailed))
    }

    @Test(arguments: [1, 64, 65, 96])
    func tamperedM4FailsConfirmation(offsetAfterShare: Int) {
        var scenario = HandshakeScenario()
        scenario.tamperM4 = { flipping($0, at: 32 + offsetAfterShare) }
        #expect(scenario.run().failure == FlowFailure(step: .senderHandleM4, error: .confirmationFailed))
    }

    @Test(arguments: [1, 64, 65, 96])
    func tamperedM5FailsConfirmation(offset: Int) {
        var scenario = HandshakeScenario()
        scenario.tamperM5 = { flipping($0, at: offset) }
        #expect(scenario.run().failure == FlowFailure(step: .receiverHandleM5, error: .confirmationFailed))
    }

    @Test func tamperedSummaryIsRejected() {
        var scenario = HandshakeScenario()
        scenario.tamperM3 = { flipping($0, at: $0.count - 1) }
        #expect(scenario.run().failure == FlowFailure(step: .receiverHandleM3, error: .summaryUndecryptable))
        scenario.tamperM3 = { flipping($0, at: Offset.m3Sealed) }  // the secretbox nonce
        #expect(scenario.run().failure == FlowFailure(step: .receiverHandleM3, error: .summaryUndecryptable))
    }

    @Test func replayedFirstMessagesDoNotOpenANewSession() throws {
        let scenario = HandshakeScenario()
        let old = try scenario.run().get().messages
        let oldM1 = try #require(old[.senderMakeM1])
        let oldM3 = try #require(old[.senderHandleM2])
        var receiver = ReceiverHandshake(identity: scenario.receiverIdentity, isPinned: { _ in false })
        _ = try receiver.handleM1(oldM1)
        #expect(throws: HandshakeError.summaryUndecryptable) { _ = try receiver.handleM3(oldM3) }
    }

    // MARK: CPace points

    @Test(arguments: [identityPoint, invalidPointEncoding])
    func invalidYaIsRejected(point: [UInt8]) {
        var scenario = HandshakeScenario()
        scenario.tamperM3 = { replacing($0, at: Offset.m3Share, with: point) }
        #expect(scenario.run().failure == FlowFailure(step: .receiverHandleM3, error: .invalidPoint))
    }

    @Test(arguments: [identityPoint, invalidPointEncoding])
    func invalidYbIsRejected(point: [UInt8]) {
        var scenario = HandshakeScenario()
        scenario.tamperM4 = { replacing($0, at: Offset.m4Share, with: point) }
        #expect(scenario.run().failure == FlowFailure(step: .senderHandleM4, error: .invalidPoint))
    }

    @Test func substitutedValidYaFailsConfirmation() {
        var scenario = HandshakeScenario()
        scenario.tamperM3 = { replacing($0, at: Offset.m3Share, with: foreignPoint) }
        #expect(scenario.run().failure == FlowFailure(step: .senderHandleM4, error: .confirmationFailed))
    }

    @Test func substitutedValidYbFailsConfirmation() {
        var scenario = HandshakeScenario()
        scenario.tamperM4 = { replacing($0, at: Offset.m4Share, with: foreignPoint) }
        #expect(scenario.run().failure == FlowFailure(step: .senderHandleM4, error: .confirmationFailed))
    }

    @Test func equalSharesAreRejectedByTheReceiver() {
        // Same scalar and same code on both sides make Ya == Yb.
        var scenario = HandshakeScenario()
        let scalar = CPace.randomScalar()
        scenario.senderScalar = scalar
        scenario.receiverScalar = scalar
        #expect(scenario.run().failure == FlowFailure(step: .receiverMakeM4, error: .invalidPoint))
    }

    @Test func reflectedYaIsRejectedByTheSender() {
        var scenario = HandshakeScenario()
        var ya: [UInt8] = []
        scenario.tamperM3 = { m3 in
            ya = Array(m3[Offset.m3Share..<(Offset.m3Share + 32)])
            return m3
        }
        scenario.tamperM4 = { replacing($0, at: Offset.m4Share, with: ya) }
        #expect(scenario.run().failure == FlowFailure(step: .senderHandleM4, error: .invalidPoint))
    }

    // MARK: Identities and pins

    @Test func swappedSenderIdentityFailsInPairMode() {
        var scenario = HandshakeScenario()
        let attacker = SigningKeyPair.generate()
        scenario.tamperM1 = { replacing($0, at: Offset.m1Identity, with: attacker.publicKey) }
        #expect(scenario.run().failure == FlowFailure(step: .receiverHandleM3, error: .summaryUndecryptable))
    }

    @Test func swappedReceiverIdentityFailsInPairMode() {
        var scenario = HandshakeScenario()
        let attacker = SigningKeyPair.generate()
        scenario.tamperM2 = { replacing($0, at: Offset.m2Identity, with: attacker.publicKey) }
        #expect(scenario.run().failure == FlowFailure(step: .receiverHandleM3, error: .summaryUndecryptable))
    }

    /// The receiver pins two senders; the attacker swaps one pinned key for the other in M1.
    @Test func swappedSenderIdentityFailsInKnownMode() {
        var scenario = HandshakeScenario.known()
        let otherPinned = SigningKeyPair.generate().publicKey
        scenario.receiverPins.append(otherPinned)
        scenario.tamperM1 = { replacing($0, at: Offset.m1Identity, with: otherPinned) }
        #expect(scenario.run().failure == FlowFailure(step: .senderHandleM4, error: .confirmationFailed))
    }

    @Test func swappedReceiverIdentityFailsThePinInKnownMode() {
        var scenario = HandshakeScenario.known()
        let attacker = SigningKeyPair.generate()
        scenario.tamperM2 = { replacing($0, at: Offset.m2Identity, with: attacker.publicKey) }
        #expect(scenario.run().failure == FlowFailure(step: .senderHandleM2, error: .pinMismatch))
    }

    @Test func pinMismatchIsReported() {
        var scenario = HandshakeScenario.known()
        scenario.senderPin = SigningKeyPair.generate().publicKey  // the sender pinned X, the receiver is Y
        #expect(scenario.run().failure == FlowFailure(step: .senderHandleM2, error: .pinMismatch))
    }

    @Test func pinMismatchStillShowsWhichKeyAnswered() throws {
        let receiverIdentity = SigningKeyPair.generate()
        let senderIdentity = SigningKeyPair.generate()
        let senderKey = senderIdentity.publicKey
        var sender = SenderHandshake(identity: senderIdentity, pinnedReceiver: SigningKeyPair.generate().publicKey, summary: [])
        var receiver = ReceiverHandshake(identity: receiverIdentity, isPinned: { $0 == senderKey })
        let (m2, _, _) = try receiver.handleM1(try sender.makeM1())
        #expect(throws: HandshakeError.pinMismatch) { _ = try sender.handleM2(m2) }
        #expect(sender.receiverIdentity == receiverIdentity.publicKey)
    }

    @Test func pairToKnownDowngradeIsRejected() {
        var scenario = HandshakeScenario()
        scenario.tamperM2 = { replacing($0, at: Offset.m2Mode, with: [HandshakeMode.known.rawValue]) }
        #expect(scenario.run().failure == FlowFailure(step: .senderHandleM2, error: .downgrade))
    }

    /// An impostor that knows the receiver's public key (from mDNS) but not its secret key answers
    /// a KNOWN session: its tag is right (it ran the key exchange) but its signature is not.
    @Test(arguments: [false, true])
    func impostorReceiverFailsTheSignature(genuine: Bool) throws {
        let victim = SigningKeyPair.generate()
        let signer = genuine ? victim : SigningKeyPair.generate()
        var sender = SenderHandshake(identity: SigningKeyPair.generate(), pinnedReceiver: victim.publicKey, summary: [])
        let m1 = try sender.makeM1()
        let parsed = try HandshakeM1(parsing: m1)
        let ephemeral = KXKeyPair.generate()
        let kx = try ephemeral.serverSessionKeys(clientPublicKey: parsed.ephemeralKey)
        let m2 = HandshakeM2(mode: .known, nonce: Random.bytes(32), ephemeralKey: ephemeral.publicKey,
                             identityKey: victim.publicKey).encoded
        guard case .known = try sender.handleM2(m2) else {
            Issue.record("expected KNOWN")
            return
        }
        let th = try HandshakeKeySchedule.transcriptHash(m1: m1, m2: m2)
        let keys = try HandshakeKeySchedule.keys(transcriptHash: th, intermediateSessionKey: [],
                                                 kxSenderToReceiver: kx.receive, kxReceiverToSender: kx.transmit)
        let input = HandshakeKeySchedule.authenticationInput(role: .receiver, transcriptHash: th, senderShare: [],
                                                             receiverShare: [], summaryHash: [])
        let signature = signer.sign(input)
        let tag = HandshakeKeySchedule.confirmationTag(authenticationInput: input, signature: signature, key: keys.confirmReceiver)
        let m4 = HandshakeM4(share: [], signature: signature, tag: tag).encoded
        if genuine {
            let (_, outcome) = try sender.handleM4(m4)
            #expect(outcome.sendKey == keys.senderToReceiver)
        } else {
            #expect(throws: HandshakeError.badSignature) { _ = try sender.handleM4(m4) }
        }
    }

    /// The same from the other side: an impostor claims a sender key the receiver has pinned.
    @Test(arguments: [false, true])
    func impostorSenderFailsTheSignature(genuine: Bool) throws {
        let victim = SigningKeyPair.generate()
        let signer = genuine ? victim : SigningKeyPair.generate()
        let receiverIdentity = SigningKeyPair.generate()
        let pinned = victim.publicKey
        var receiver = ReceiverHandshake(identity: receiverIdentity, isPinned: { $0 == pinned })
        let ephemeral = KXKeyPair.generate()
        let m1 = HandshakeM1(mode: .known, nonce: Random.bytes(32), ephemeralKey: ephemeral.publicKey,
                             identityKey: victim.publicKey).encoded
        let (m2, mode, _) = try receiver.handleM1(m1)
        #expect(mode == .known)
        let kx = try ephemeral.clientSessionKeys(serverPublicKey: try HandshakeM2(parsing: m2).ephemeralKey)
        let th = try HandshakeKeySchedule.transcriptHash(m1: m1, m2: m2)
        let keys = try HandshakeKeySchedule.keys(transcriptHash: th, intermediateSessionKey: [],
                                                 kxSenderToReceiver: kx.transmit, kxReceiverToSender: kx.receive)
        _ = try receiver.makeM4(code: nil)
        let input = HandshakeKeySchedule.authenticationInput(role: .sender, transcriptHash: th, senderShare: [],
                                                             receiverShare: [], summaryHash: [])
        let signature = signer.sign(input)
        let tag = HandshakeKeySchedule.confirmationTag(authenticationInput: input, signature: signature, key: keys.confirmSender)
        let m5 = HandshakeM5(signature: signature, tag: tag).encoded
        if genuine {
            #expect(try receiver.handleM5(m5).peerIdentity == victim.publicKey)
        } else {
            #expect(throws: HandshakeError.badSignature) { _ = try receiver.handleM5(m5) }
        }
    }

    // MARK: Key exchange

    static let lowOrderKeys: [[UInt8]] = [
        [UInt8](repeating: 0, count: 32),
        [1] + [UInt8](repeating: 0, count: 31),
        Hex.decode("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800") ?? [],
    ]

    @Test(arguments: lowOrderKeys)
    func lowOrderSenderKeyIsRejected(key: [UInt8]) {
        var scenario = HandshakeScenario()
        scenario.tamperM1 = { replacing($0, at: Offset.m1Ephemeral, with: key) }
        #expect(scenario.run().failure == FlowFailure(step: .receiverHandleM1, error: .keyExchangeFailed))
    }

    @Test(arguments: lowOrderKeys)
    func lowOrderReceiverKeyIsRejected(key: [UInt8]) {
        var scenario = HandshakeScenario()
        scenario.tamperM2 = { replacing($0, at: Offset.m2Ephemeral, with: key) }
        #expect(scenario.run().failure == FlowFailure(step: .senderHandleM2, error: .keyExchangeFailed))
    }
}

/// One way to break a message, and the error it must give.
struct MalformedCase: Sendable, CustomTestStringConvertible {
    enum Target: Sendable { case m1, m2, m3, m4, m5 }
    let name: String
    let target: Target
    let change: @Sendable ([UInt8]) -> [UInt8]
    /// nil: any `.malformed`.
    let expected: HandshakeError?
    var testDescription: String { name }

    var step: FlowStep {
        switch target {
        case .m1: .receiverHandleM1
        case .m2: .senderHandleM2
        case .m3: .receiverHandleM3
        case .m4: .senderHandleM4
        case .m5: .receiverHandleM5
        }
    }

    static let all: [MalformedCase] = [
        MalformedCase(name: "M1 version 3", target: .m1, change: { replacing($0, at: Offset.m1Version, with: [3]) }, expected: .unsupportedVersion(3)),
        MalformedCase(name: "M1 version 0", target: .m1, change: { replacing($0, at: Offset.m1Version, with: [0]) }, expected: .unsupportedVersion(0)),
        MalformedCase(name: "M1 bad magic", target: .m1, change: { flipping($0, at: 0) }, expected: nil),
        MalformedCase(name: "M1 unknown type", target: .m1, change: { replacing($0, at: Offset.m1Type, with: [9]) }, expected: nil),
        MalformedCase(name: "M1 type of M2", target: .m1, change: { replacing($0, at: Offset.m1Type, with: [2]) }, expected: .unexpectedMessage),
        MalformedCase(name: "M1 unknown mode", target: .m1, change: { replacing($0, at: Offset.m1Mode, with: [3]) }, expected: nil),
        MalformedCase(name: "M1 truncated", target: .m1, change: { Array($0.dropLast()) }, expected: nil),
        MalformedCase(name: "M1 only magic", target: .m1, change: { Array($0.prefix(4)) }, expected: nil),
        MalformedCase(name: "M1 empty", target: .m1, change: { _ in [] }, expected: nil),
        MalformedCase(name: "M1 trailing byte", target: .m1, change: { $0 + [0] }, expected: nil),
        MalformedCase(name: "M1 over 64 KiB", target: .m1, change: { $0 + [UInt8](repeating: 0, count: 65_536) }, expected: nil),
        MalformedCase(name: "M2 unknown type", target: .m2, change: { replacing($0, at: Offset.m2Type, with: [0]) }, expected: nil),
        MalformedCase(name: "M2 type of M4", target: .m2, change: { replacing($0, at: Offset.m2Type, with: [4]) }, expected: .unexpectedMessage),
        MalformedCase(name: "M2 unknown mode", target: .m2, change: { replacing($0, at: Offset.m2Mode, with: [0]) }, expected: nil),
        MalformedCase(name: "M2 truncated", target: .m2, change: { Array($0.dropLast()) }, expected: nil),
        MalformedCase(name: "M2 trailing byte", target: .m2, change: { $0 + [0] }, expected: nil),
        MalformedCase(name: "M3 type of M5", target: .m3, change: { replacing($0, at: 0, with: [5]) }, expected: .unexpectedMessage),
        MalformedCase(name: "M3 truncated", target: .m3, change: { Array($0.dropLast()) }, expected: nil),
        MalformedCase(name: "M3 trailing byte", target: .m3, change: { $0 + [0] }, expected: nil),
        MalformedCase(name: "M3 length too large", target: .m3, change: { replacing($0, at: Offset.m3Length, with: [0xff, 0xff, 0xff, 0xff]) }, expected: nil),
        MalformedCase(name: "M3 length under box overhead", target: .m3, change: { replacing($0, at: Offset.m3Length, with: [0, 0, 0, 39]) }, expected: nil),
        MalformedCase(name: "M4 unknown type", target: .m4, change: { replacing($0, at: 0, with: [200]) }, expected: nil),
        MalformedCase(name: "M4 truncated", target: .m4, change: { Array($0.dropLast()) }, expected: nil),
        MalformedCase(name: "M4 trailing byte", target: .m4, change: { $0 + [0] }, expected: nil),
        MalformedCase(name: "M5 truncated", target: .m5, change: { Array($0.dropLast()) }, expected: nil),
        MalformedCase(name: "M5 trailing byte", target: .m5, change: { $0 + [0] }, expected: nil),
        MalformedCase(name: "M5 type of M1", target: .m5, change: { replacing($0, at: 0, with: [1]) }, expected: .unexpectedMessage),
    ]
}

@Suite("Handshake malformed messages")
struct HandshakeMalformedTests {
    @Test(arguments: MalformedCase.all)
    func malformedMessageIsRejected(testCase: MalformedCase) throws {
        var scenario = HandshakeScenario()
        switch testCase.target {
        case .m1: scenario.tamperM1 = testCase.change
        case .m2: scenario.tamperM2 = testCase.change
        case .m3: scenario.tamperM3 = testCase.change
        case .m4: scenario.tamperM4 = testCase.change
        case .m5: scenario.tamperM5 = testCase.change
        }
        let failure = try #require(scenario.run().failure)
        #expect(failure.step == testCase.step)
        if let expected = testCase.expected {
            #expect(failure.error == expected)
        } else {
            #expect(failure.error.isMalformed, "got \(failure.error)")
        }
    }

    @Test func errorsDescribeThemselvesForPeople() {
        let errors: [HandshakeError] = [.malformed("x"), .unsupportedVersion(2), .unexpectedMessage, .downgrade, .pinMismatch,
                                        .keyExchangeFailed, .invalidPoint, .confirmationFailed, .badSignature,
                                        .summaryUndecryptable, .outOfOrder]
        for error in errors {
            #expect(error.description.hasSuffix("."))
        }
        #expect(HandshakeError.confirmationFailed.description.contains("Wrong pairing code"))
    }
}
