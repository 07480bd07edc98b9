import SodiumKit

/// The receiver's side of the session handshake (R, the crypto_kx server): a pure state machine,
/// no I/O. Steps, in order: `handleM1`, then in PAIR mode `handleM3` (show the summary, ask for the
/// code), `makeM4`, `handleM5`. Calling a step twice, out of order, or after any failure throws
/// `outOfOrder`; any failure ends the attempt.
public struct ReceiverHandshake: ~Copyable, Sendable {
    private let identity: SigningKeyPair
    private let isPinned: @Sendable ([UInt8]) -> Bool
    private let draws: HandshakeDraws
    private var state: State = .start
    /// The protocol version the sender offered in M1 (and this side speaks), once read.
    public private(set) var version: ProtocolVersion = .v1_0

    private enum State: Sendable {
        case start
        /// PAIR: M2 sent, waiting for M3.
        case awaitingM3(Session)
        /// PAIR: M3 read, waiting for the person to type the code.
        case awaitingCode(Session, senderShare: [UInt8], summaryHash: [UInt8])
        /// KNOWN: M2 sent, M4 next.
        case readyForKnownM4(Session)
        case awaitingM5(AwaitingM5)
        case finished
        case failed
    }

    private struct Session: Sendable {
        let transcriptHash: [UInt8]
        let senderIdentity: [UInt8]
        let kxSenderToReceiver: SecretKey
        let kxReceiverToSender: SecretKey
    }

    private struct AwaitingM5: Sendable {
        let mode: HandshakeMode
        let session: Session
        let keys: HandshakeKeys
        let senderShare: [UInt8]
        let receiverShare: [UInt8]
        let summaryHash: [UInt8]
    }

    /// - Parameters:
    ///   - identity: this agent's Ed25519 identity.
    ///   - isPinned: whether a sender identity key is pinned here (decides whether KNOWN is granted).
    public init(identity: SigningKeyPair, isPinned: @escaping @Sendable ([UInt8]) -> Bool) {
        self.init(identity: identity, isPinned: isPinned, cpaceScalar: nil)
    }

    /// For tests: uses `cpaceScalar` as yb instead of a random one.
    package init(identity: SigningKeyPair, isPinned: @escaping @Sendable ([UInt8]) -> Bool, cpaceScalar: SecretKey?) {
        self.init(identity: identity, isPinned: isPinned, draws: HandshakeDraws(cpaceScalar: cpaceScalar))
    }

    /// For known-answer tests: takes the values in `draws` instead of random ones.
    package init(identity: SigningKeyPair, isPinned: @escaping @Sendable ([UInt8]) -> Bool, draws: HandshakeDraws) {
        self.identity = identity
        self.isPinned = isPinned
        self.draws = draws
    }

    /// Reads M1 and answers M2. The mode is KNOWN only if M1 asked KNOWN and the sender's key is
    /// pinned; otherwise PAIR. A low-order eS_pk throws `keyExchangeFailed` before anything is sent.
    public mutating func handleM1(_ m1: [UInt8]) throws(HandshakeError) -> (m2: [UInt8], mode: HandshakeMode, senderIdentity: [UInt8]) {
        guard case .start = state else { throw HandshakeError.outOfOrder }
        state = .failed
        let message = try HandshakeM1(parsing: m1)
        version = message.version
        let mode: HandshakeMode = message.mode == .known && isPinned(message.identityKey) ? .known : .pair
        let ephemeral = try draws.ephemeralKeyPair()
        let kx: (receive: SecretKey, transmit: SecretKey)
        do {
            kx = try ephemeral.serverSessionKeys(clientPublicKey: message.ephemeralKey)
        } catch {
            throw .keyExchangeFailed
        }
        let m2 = HandshakeM2(mode: mode, nonce: draws.handshakeNonce(),
                             ephemeralKey: ephemeral.publicKey, identityKey: identity.publicKey).encoded
        let session = Session(transcriptHash: try HandshakeKeySchedule.transcriptHash(m1: m1, m2: m2),
                              senderIdentity: message.identityKey,
                              kxSenderToReceiver: kx.receive, kxReceiverToSender: kx.transmit)
        state = mode == .pair ? .awaitingM3(session) : .readyForKnownM4(session)
        return (m2, mode, message.identityKey)
    }

    /// PAIR only: reads Ya and decrypts the offer summary; returns the summary plaintext for the
    /// person to see. The summary is authenticated only when `handleM5` succeeds (its hash enters
    /// both confirmation tags): show it as the sender's claim.
    public mutating func handleM3(_ m3: [UInt8]) throws(HandshakeError) -> [UInt8] {
        guard case let .awaitingM3(session) = state else { throw HandshakeError.outOfOrder }
        state = .failed
        let message = try HandshakeM3(parsing: m3)
        // Reject an invalid or identity Ya before involving the person; makeM4 checks again
        // through scalarmult's -1.
        guard Ristretto255.isValidNonIdentity(message.share) else { throw .invalidPoint }
        let key = try HandshakeKeySchedule.summaryKey(transcriptHash: session.transcriptHash,
                                                      kxSenderToReceiver: session.kxSenderToReceiver)
        let summary: [UInt8]
        do {
            summary = try SecretBox.open(message.sealedSummary, key: key)
        } catch {
            throw .summaryUndecryptable
        }
        state = .awaitingCode(session, senderShare: message.share,
                              summaryHash: try HandshakeKeySchedule.summaryHash(summary))
        return summary
    }

    /// Makes M4. `code` is required in PAIR mode (what the person typed) and must be nil in KNOWN
    /// mode; a wrong code is not detected here but by the sender, whose M5 never comes.
    public mutating func makeM4(code: PairingCode?) throws(HandshakeError) -> [UInt8] {
        let session: Session
        let mode: HandshakeMode
        var senderShare: [UInt8] = []
        var summaryHash: [UInt8] = []
        switch state {
        case let .awaitingCode(pairSession, share, hash):
            guard code != nil else { throw HandshakeError.pairingCodeRequired }
            (session, mode, senderShare, summaryHash) = (pairSession, .pair, share, hash)
        case let .readyForKnownM4(knownSession):
            guard code == nil else { throw HandshakeError.pairingCodeNotExpected }
            (session, mode) = (knownSession, .known)
        default:
            throw HandshakeError.outOfOrder
        }
        state = .failed

        var receiverShare: [UInt8] = []
        var isk: [UInt8] = []
        defer { Memory.wipe(&isk) }
        if mode == .pair, let code {
            let generator = try HandshakeKeySchedule.generator(code: code, senderIdentity: session.senderIdentity,
                                                               receiverIdentity: identity.publicKey,
                                                               transcriptHash: session.transcriptHash)
            let scalar = draws.scalar()
            receiverShare = try CPace.share(scalar: scalar, generator: generator)
            var sharedSecret = try CPace.sharedSecret(scalar: scalar, ownShare: receiverShare, peerShare: senderShare)
            defer { Memory.wipe(&sharedSecret) }
            isk = HandshakeKeySchedule.intermediateSessionKey(transcriptHash: session.transcriptHash, sharedSecret: sharedSecret,
                                                              senderShare: senderShare, receiverShare: receiverShare)
        }
        let keys = try HandshakeKeySchedule.keys(transcriptHash: session.transcriptHash, intermediateSessionKey: isk,
                                                 kxSenderToReceiver: session.kxSenderToReceiver,
                                                 kxReceiverToSender: session.kxReceiverToSender)
        let input = HandshakeKeySchedule.authenticationInput(role: .receiver, transcriptHash: session.transcriptHash,
                                                             senderShare: senderShare, receiverShare: receiverShare,
                                                             summaryHash: summaryHash)
        let signature = identity.sign(input)
        let tag = HandshakeKeySchedule.confirmationTag(authenticationInput: input, signature: signature,
                                                       key: keys.confirmReceiver)
        state = .awaitingM5(AwaitingM5(mode: mode, session: session, keys: keys, senderShare: senderShare,
                                       receiverShare: receiverShare, summaryHash: summaryHash))
        return HandshakeM4(share: receiverShare, signature: signature, tag: tag).encoded
    }

    /// Reads M5: checks tagS first (`confirmationFailed`), then sigS against IDs_pk (`badSignature`);
    /// returns the session keys.
    public mutating func handleM5(_ m5: [UInt8]) throws(HandshakeError) -> HandshakeOutcome {
        guard case let .awaitingM5(context) = state else { throw HandshakeError.outOfOrder }
        state = .failed
        let message = try HandshakeM5(parsing: m5)
        let input = HandshakeKeySchedule.authenticationInput(role: .sender, transcriptHash: context.session.transcriptHash,
                                                             senderShare: context.senderShare,
                                                             receiverShare: context.receiverShare,
                                                             summaryHash: context.summaryHash)
        guard HandshakeKeySchedule.verifyConfirmationTag(message.tag, authenticationInput: input,
                                                         signature: message.signature, key: context.keys.confirmSender) else {
            throw .confirmationFailed
        }
        guard Ed25519.verify(signature: message.signature, message: input, publicKey: context.session.senderIdentity) else {
            throw .badSignature
        }
        state = .finished
        return HandshakeOutcome(mode: context.mode, version: version, peerIdentity: context.session.senderIdentity,
                                sendKey: context.keys.receiverToSender, receiveKey: context.keys.senderToReceiver,
                                summaryHash: context.summaryHash)
    }
}
