import PeershareCore
import SodiumKit
import Testing

@Suite("Handshake flows")
struct HandshakeFlowTests {
    /// Both outcomes hold the same two keys, crossed, and distinct.
    func expectCrossedKeys(_ result: FlowResult, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.sender.sendKey == result.receiver.receiveKey, sourceLocation: sourceLocation)
        #expect(result.sender.receiveKey == result.receiver.sendKey, sourceLocation: sourceLocation)
        #expect(result.sender.sendKey != result.sender.receiveKey, sourceLocation: sourceLocation)
    }

    @Test func pairFlowAgreesOnKeysSummaryAndIdentities() throws {
        let scenario = HandshakeScenario()
        let result = try scenario.run().get()
        expectCrossedKeys(result)
        #expect(result.agreedMode == .pair)
        #expect(result.sender.mode == .pair)
        #expect(result.receiver.mode == .pair)
        #expect(!result.fellBackToPairing)
        #expect(result.summarySeen == scenario.summary)
        #expect(result.sender.summaryHash == (try Hash.generic(scenario.summary, outputLength: 32)))
        #expect(result.receiver.summaryHash == result.sender.summaryHash)
        #expect(result.sender.peerIdentity == scenario.receiverIdentity.publicKey)
        #expect(result.receiver.peerIdentity == scenario.senderIdentity.publicKey)
        #expect(result.senderIdentitySeen == scenario.senderIdentity.publicKey)
        #expect(result.receiverIdentitySeen == scenario.receiverIdentity.publicKey)
    }

    @Test func pairFlowMessageSizes() throws {
        let scenario = HandshakeScenario()
        let messages = try scenario.run().get().messages
        #expect(messages[.senderMakeM1]?.count == 103)
        #expect(messages[.receiverHandleM1]?.count == 98)
        #expect(messages[.senderHandleM2]?.count == 77 + scenario.summary.count)
        #expect(messages[.receiverMakeM4]?.count == 129)
        #expect(messages[.senderHandleM4]?.count == 97)
        #expect(messages[.senderMakeM1].map { Array($0.prefix(7)) } == Array("PSHR".utf8) + [ProtocolVersion.highest.rawValue, 1, 1])
    }

    @Test func outcomeKeysDriveSecretstreamsBothWays() throws {
        let result = try HandshakeScenario().run().get()
        var toReceiver = try SecretStreamPusher(key: result.sender.sendKey)
        var atReceiver = try SecretStreamPuller(key: result.receiver.receiveKey, header: toReceiver.header)
        #expect(try atReceiver.pull(toReceiver.push(Array("manifest".utf8), final: true)).message == Array("manifest".utf8))
        var toSender = try SecretStreamPusher(key: result.receiver.sendKey)
        var atSender = try SecretStreamPuller(key: result.sender.receiveKey, header: toSender.header)
        #expect(try atSender.pull(toSender.push(Array("accept".utf8), final: true)).isFinal)
    }

    @Test func everySessionHasFreshKeys() throws {
        let scenario = HandshakeScenario.known()
        let first = try scenario.run().get()
        let second = try scenario.run().get()
        #expect(first.sender.sendKey != second.sender.sendKey)
        #expect(first.sender.receiveKey != second.sender.receiveKey)
    }

    @Test(arguments: [0, 1, HandshakeWire.maximumSummaryBytes])
    func summarySizes(size: Int) throws {
        var scenario = HandshakeScenario()
        scenario.summary = Random.bytes(size)
        let result = try scenario.run().get()
        #expect(result.summarySeen == scenario.summary)
        #expect(result.messages[.senderHandleM2]?.count == 77 + size)
        #expect((result.messages[.senderHandleM2]?.count ?? .max) <= HandshakeWire.maximumMessageBytes)
    }

    @Test func knownFlowWhenBothSidesArePinned() throws {
        let scenario = HandshakeScenario.known()
        let result = try scenario.run().get()
        expectCrossedKeys(result)
        #expect(result.agreedMode == .known)
        #expect(result.sender.mode == .known)
        #expect(result.receiver.mode == .known)
        #expect(result.summarySeen == nil)
        #expect(result.sender.summaryHash.isEmpty)
        #expect(result.receiver.summaryHash.isEmpty)
        #expect(result.sender.peerIdentity == scenario.receiverIdentity.publicKey)
        #expect(result.receiver.peerIdentity == scenario.senderIdentity.publicKey)
        #expect(result.messages[.senderMakeM1]?[Offset.m1Mode] == HandshakeMode.known.rawValue)
        #expect(result.messages[.receiverMakeM4]?.count == 97)
    }

    @Test func knownAskedButReceiverForgotSenderFallsBackToPairing() throws {
        var scenario = HandshakeScenario.known()
        scenario.receiverPins = []
        let result = try scenario.run().get()
        expectCrossedKeys(result)
        #expect(result.fellBackToPairing)
        #expect(result.agreedMode == .pair)
        #expect(result.sender.mode == .pair)
        #expect(result.summarySeen == scenario.summary)
    }

    @Test func receiverDoesNotGrantKnownUnasked() throws {
        var scenario = HandshakeScenario()
        scenario.receiverPins = [scenario.senderIdentity.publicKey]
        let result = try scenario.run().get()
        #expect(result.agreedMode == .pair)
        #expect(!result.fellBackToPairing)
    }

    @Test func outcomeDescriptionHidesKeys() throws {
        let result = try HandshakeScenario().run().get()
        let text = "\(result.sender) \(String(reflecting: result.sender))"
        #expect(!text.contains(Hex.encode(result.sender.sendKey.bytes)))
        #expect(!text.contains(Hex.encode(result.sender.receiveKey.bytes)))
        #expect(text.contains("redacted"))
    }
}

@Suite("Handshake step order")
struct HandshakeStepOrderTests {
    let senderIdentity = SigningKeyPair.generate()
    let receiverIdentity = SigningKeyPair.generate()

    @Test func senderRefusesStepsOutOfOrder() throws {
        var sender = SenderHandshake(identity: senderIdentity, pinnedReceiver: nil, summary: [])
        #expect(throws: HandshakeError.outOfOrder) { _ = try sender.handleM2([2]) }
        #expect(throws: HandshakeError.outOfOrder) { _ = try sender.handleM4([4]) }
        _ = try sender.makeM1()
        #expect(throws: HandshakeError.outOfOrder) { _ = try sender.makeM1() }
        #expect(throws: HandshakeError.outOfOrder) { _ = try sender.handleM4([4]) }
    }

    @Test func anyFailureEndsTheAttempt() throws {
        var sender = SenderHandshake(identity: senderIdentity, pinnedReceiver: nil, summary: [])
        var receiver = ReceiverHandshake(identity: receiverIdentity, isPinned: { _ in false })
        let m1 = try sender.makeM1()
        let (m2, _, _) = try receiver.handleM1(m1)
        let error = #expect(throws: HandshakeError.self) { _ = try sender.handleM2(m2 + [0]) }
        #expect(error?.isMalformed == true)
        #expect(throws: HandshakeError.outOfOrder) { _ = try sender.handleM2(m2) }
    }

    @Test func receiverRefusesStepsOutOfOrder() throws {
        var sender = SenderHandshake(identity: senderIdentity, pinnedReceiver: nil, summary: [1, 2, 3])
        var receiver = ReceiverHandshake(identity: receiverIdentity, isPinned: { _ in false })
        #expect(throws: HandshakeError.outOfOrder) { _ = try receiver.handleM3([3]) }
        #expect(throws: HandshakeError.outOfOrder) { _ = try receiver.makeM4(code: nil) }
        #expect(throws: HandshakeError.outOfOrder) { _ = try receiver.handleM5([5]) }
        let m1 = try sender.makeM1()
        let (m2, _, _) = try receiver.handleM1(m1)
        #expect(throws: HandshakeError.outOfOrder) { _ = try receiver.handleM1(m1) }
        // PAIR: the code cannot be used before M3 was read.
        #expect(throws: HandshakeError.outOfOrder) { _ = try receiver.makeM4(code: PairingCode.random()) }
        _ = m2
    }

    @Test func receiverNeedsTheCodeInPairModeOnly() throws {
        var sender = SenderHandshake(identity: senderIdentity, pinnedReceiver: nil, summary: [1, 2, 3])
        var receiver = ReceiverHandshake(identity: receiverIdentity, isPinned: { _ in false })
        let (m2, _, _) = try receiver.handleM1(try sender.makeM1())
        guard case let .pairing(code, m3) = try sender.handleM2(m2) else {
            Issue.record("expected PAIR")
            return
        }
        _ = try receiver.handleM3(m3)
        // A missing code is a caller mistake: reported, and the attempt can still go on.
        #expect(throws: HandshakeError.pairingCodeRequired) { _ = try receiver.makeM4(code: nil) }
        let m4 = try receiver.makeM4(code: code)
        #expect(throws: HandshakeError.outOfOrder) { _ = try receiver.makeM4(code: code) }
        let (m5, _) = try sender.handleM4(m4)
        _ = try receiver.handleM5(m5)
        #expect(throws: HandshakeError.outOfOrder) { _ = try receiver.handleM5(m5) }
        #expect(throws: HandshakeError.outOfOrder) { _ = try sender.handleM4(m4) }
    }

    @Test func receiverRejectsACodeInKnownMode() throws {
        let pinnedSender = senderIdentity.publicKey
        var sender = SenderHandshake(identity: senderIdentity, pinnedReceiver: receiverIdentity.publicKey, summary: [])
        var receiver = ReceiverHandshake(identity: receiverIdentity, isPinned: { $0 == pinnedSender })
        let (m2, mode, _) = try receiver.handleM1(try sender.makeM1())
        #expect(mode == .known)
        #expect(throws: HandshakeError.outOfOrder) { _ = try receiver.handleM3([3]) }
        var receiver2 = ReceiverHandshake(identity: receiverIdentity, isPinned: { $0 == pinnedSender })
        var sender2 = SenderHandshake(identity: senderIdentity, pinnedReceiver: receiverIdentity.publicKey, summary: [])
        _ = try receiver2.handleM1(try sender2.makeM1())
        #expect(throws: HandshakeError.pairingCodeNotExpected) { _ = try receiver2.makeM4(code: PairingCode.random()) }
        _ = m2
    }

    @Test func senderChecksItsInputs() {
        var tooLarge = SenderHandshake(identity: senderIdentity, pinnedReceiver: nil,
                                       summary: [UInt8](repeating: 0, count: HandshakeWire.maximumSummaryBytes + 1))
        #expect(throws: HandshakeError.summaryTooLarge(maximum: HandshakeWire.maximumSummaryBytes)) { _ = try tooLarge.makeM1() }
        var badPin = SenderHandshake(identity: senderIdentity, pinnedReceiver: [UInt8](repeating: 1, count: 31), summary: [])
        #expect(throws: HandshakeError.invalidPinnedKey) { _ = try badPin.makeM1() }
    }
}
