import SodiumKit

/// The sender's side of the session handshake (S, the crypto_kx client): a pure state machine,
/// no I/O. Steps, in order: `makeM1`, `handleM2`, `handleM4`. Calling a step twice, out of order,
/// or after any failure throws `outOfOrder`; any failure ends the attempt (in PAIR mode the code
/// it showed is spent: a new attempt draws a new code).
public struct SenderHandshake: ~Copyable, Sendable {
    private let identity: SigningKeyPair
    private let pinnedReceiver: [UInt8]?
    private let summary: [UInt8]
    private let draws: HandshakeDraws
    private var state: State = .start
    /// The version M1 offers: the highest, or a lower one after the receiver refused it.
    public let version: ProtocolVersion

    /// True when this side asked KNOWN and the receiver answered PAIR (it no longer knows this
    /// sender): tell the person, then show the code as usual.
    public private(set) var fellBackToPairing = false
    /// The receiver's identity key (IDr_pk) once M2 was parsed, also when `handleM2` then failed
    /// (e.g. `pinMismatch`: the key that answered, for the warning). It is proven only when
    /// `handleM4` succeeds; compare it with any pin for that peer before trusting a new key.
    public private(set) var receiverIdentity: [UInt8]?

    private enum State: Sendable {
        case start
        case sentM1(m1: [UInt8], requested: HandshakeMode, ephemeral: KXKeyPair)
        case awaitingM4(AwaitingM4)
        case finished
        case failed
    }

    private struct AwaitingM4: Sendable {
        let mode: HandshakeMode
        let transcriptHash: [UInt8]
        let receiverIdentity: [UInt8]
        let kxSenderToReceiver: SecretKey
        let kxReceiverToSender: SecretKey
        /// PAIR only: the CPace scalar ya and share Ya.
        let scalar: SecretKey?
        let share: [UInt8]
        let summaryHash: [UInt8]
    }

    /// - Parameters:
    ///   - identity: this agent's Ed25519 identity.
    ///   - pinnedReceiver: the receiver's identity key if this side has it pinned (then M1 asks KNOWN).
    ///   - summary: the encoded offer summary (opaque here), sent encrypted in M3 in PAIR mode; at
    ///     most `HandshakeWire.maximumSummaryBytes`.
    ///   - version: the version to offer in M1.
    public init(identity: SigningKeyPair, pinnedReceiver: [UInt8]?, summary: [UInt8], version: ProtocolVersion = .highest) {
        self.init(identity: identity, pinnedReceiver: pinnedReceiver, summary: summary,
                  draws: HandshakeDraws(cpaceScalar: nil), version: version)
    }

    /// For tests: uses `cpaceScalar` as ya instead of a random one.
    package init(identity: SigningKeyPair, pinnedReceiver: [UInt8]?, summary: [UInt8], cpaceScalar: SecretKey?) {
        self.init(identity: identity, pinnedReceiver: pinnedReceiver, summary: summary,
                  draws: HandshakeDraws(cpaceScalar: cpaceScalar))
    }

    /// For known-answer tests: takes the values in `draws` instead of random ones.
    package init(identity: SigningKeyPair, pinnedReceiver: [UInt8]?, summary: [UInt8], draws: HandshakeDraws,
                 version: ProtocolVersion = .highest) {
        self.version = version
        self.identity = identity
        self.pinnedReceiver = pinnedReceiver
        self.summary = summary
        self.draws = draws
    }

    /// M1: magic, version, requested mode (KNOWN if the receiver is pinned), nS, eS_pk, IDs_pk.
    public mutating func makeM1() throws(HandshakeError) -> [UInt8] {
        guard case .start = state else { throw HandshakeError.outOfOrder }
        state = .failed
        guard summary.count <= HandshakeWire.maximumSummaryBytes else {
            throw .summaryTooLarge(maximum: HandshakeWire.maximumSummaryBytes)
        }
        if let pinnedReceiver, pinnedReceiver.count != HandshakeWire.keyBytes {
            throw .invalidPinnedKey
        }
        let requested: HandshakeMode = pinnedReceiver == nil ? .pair : .known
        let ephemeral = try draws.ephemeralKeyPair()
        let m1 = HandshakeM1(mode: requested, nonce: draws.handshakeNonce(),
                             ephemeralKey: ephemeral.publicKey, identityKey: identity.publicKey, version: version).encoded
        state = .sentM1(m1: m1, requested: requested, ephemeral: ephemeral)
        return m1
    }

    /// Reads M2. A PAIR→KNOWN answer aborts (`downgrade`); KNOWN with an IDr_pk other than the pin
    /// aborts (`pinMismatch`); KNOWN→PAIR is accepted and reported by `fellBackToPairing`.
    /// In PAIR mode draws the pairing code and returns it with M3.
    public mutating func handleM2(_ m2: [UInt8]) throws(HandshakeError) -> SenderStep {
        guard case let .sentM1(m1, requested, ephemeral) = state else { throw HandshakeError.outOfOrder }
        state = .failed
        let message = try HandshakeM2(parsing: m2)
        receiverIdentity = message.identityKey
        switch (requested, message.mode) {
        case (.pair, .known):
            throw .downgrade
        case (.known, .known):
            guard let pinnedReceiver, ConstantTime.equal(pinnedReceiver, message.identityKey) else {
                throw .pinMismatch
            }
        case (.known, .pair):
            fellBackToPairing = true
        case (.pair, .pair):
            break
        }

        let th = try HandshakeKeySchedule.transcriptHash(m1: m1, m2: m2)
        let kx: (receive: SecretKey, transmit: SecretKey)
        do {
            kx = try ephemeral.clientSessionKeys(serverPublicKey: message.ephemeralKey)
        } catch {
            throw .keyExchangeFailed
        }

        guard message.mode == .pair else {
            state = .awaitingM4(AwaitingM4(mode: .known, transcriptHash: th, receiverIdentity: message.identityKey,
                                           kxSenderToReceiver: kx.transmit, kxReceiverToSender: kx.receive,
                                           scalar: nil, share: [], summaryHash: []))
            return .known
        }

        let code = draws.pairingCode ?? PairingCode.random()
        let generator = try HandshakeKeySchedule.generator(code: code, senderIdentity: identity.publicKey,
                                                           receiverIdentity: message.identityKey, transcriptHash: th)
        let scalar = draws.scalar()
        let share = try CPace.share(scalar: scalar, generator: generator)
        let summaryKey = try HandshakeKeySchedule.summaryKey(transcriptHash: th, kxSenderToReceiver: kx.transmit)
        let sealed = try draws.sealSummary(summary, key: summaryKey)
        let m3 = HandshakeM3(share: share, sealedSummary: sealed).encoded
        state = .awaitingM4(AwaitingM4(mode: .pair, transcriptHash: th, receiverIdentity: message.identityKey,
                                       kxSenderToReceiver: kx.transmit, kxReceiverToSender: kx.receive,
                                       scalar: scalar, share: share,
                                       summaryHash: try HandshakeKeySchedule.summaryHash(summary)))
        return .pairing(code: code, m3: m3)
    }

    /// Reads M4: checks tagR first (`confirmationFailed`: wrong code or tampering), then sigR
    /// against IDr_pk (`badSignature`); returns M5 and the session keys.
    public mutating func handleM4(_ m4: [UInt8]) throws(HandshakeError) -> (m5: [UInt8], outcome: HandshakeOutcome) {
        guard case let .awaitingM4(context) = state else { throw HandshakeError.outOfOrder }
        state = .failed
        let message = try HandshakeM4(parsing: m4, mode: context.mode)

        var isk: [UInt8] = []
        defer { Memory.wipe(&isk) }
        if context.mode == .pair, let scalar = context.scalar {
            var sharedSecret = try CPace.sharedSecret(scalar: scalar, ownShare: context.share, peerShare: message.share)
            defer { Memory.wipe(&sharedSecret) }
            isk = HandshakeKeySchedule.intermediateSessionKey(transcriptHash: context.transcriptHash, sharedSecret: sharedSecret,
                                                              senderShare: context.share, receiverShare: message.share)
        }
        let keys = try HandshakeKeySchedule.keys(transcriptHash: context.transcriptHash, intermediateSessionKey: isk,
                                                 kxSenderToReceiver: context.kxSenderToReceiver,
                                                 kxReceiverToSender: context.kxReceiverToSender)

        let receiverInput = HandshakeKeySchedule.authenticationInput(
            role: .receiver, transcriptHash: context.transcriptHash, senderShare: context.share,
            receiverShare: message.share, summaryHash: context.summaryHash)
        guard HandshakeKeySchedule.verifyConfirmationTag(message.tag, authenticationInput: receiverInput,
                                                         signature: message.signature, key: keys.confirmReceiver) else {
            throw .confirmationFailed
        }
        guard Ed25519.verify(signature: message.signature, message: receiverInput, publicKey: context.receiverIdentity) else {
            throw .badSignature
        }

        let senderInput = HandshakeKeySchedule.authenticationInput(
            role: .sender, transcriptHash: context.transcriptHash, senderShare: context.share,
            receiverShare: message.share, summaryHash: context.summaryHash)
        let signature = identity.sign(senderInput)
        let tag = HandshakeKeySchedule.confirmationTag(authenticationInput: senderInput, signature: signature,
                                                       key: keys.confirmSender)
        state = .finished
        return (HandshakeM5(signature: signature, tag: tag).encoded,
                HandshakeOutcome(mode: context.mode, version: version, peerIdentity: context.receiverIdentity,
                                 sendKey: keys.senderToReceiver, receiveKey: keys.receiverToSender,
                                 summaryHash: context.summaryHash))
    }
}
