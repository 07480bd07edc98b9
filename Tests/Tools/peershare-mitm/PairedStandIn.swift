import PeershareCore
import SodiumKit

/// The relay as an active attacker between two agents that have already paired (KNOWN
/// mode: no code; the pinned identity keys authenticate both ends). It ends the sender's
/// session itself and opens its own to the real receiver, and plays each side to the other
/// with PeershareCore's own handshake messages and key schedule:
///
/// - toward the receiver it claims the sender's identity key (public, read from the sender's
///   M1) and asks KNOWN; it can compute every key of the session (they come from the
///   ephemeral key exchange alone) and so a valid confirmation tag, but the signature it
///   must add is its own: it cannot sign with the sender's key;
/// - toward the sender it claims the receiver's key (`claim` = peer, read from the receiver's
///   M2) and passes on the receiver's real signature with a tag it computes for the sender's
///   session; that signature covers the other session's transcript. With `claim` = own it
///   answers with its own key instead, as a device at the receiver's address would.
///
/// Everything the honest agents refuse is reported; `accepted-by-sender` or
/// `accepted-by-receiver` would mean the attack worked.
struct PairedStandIn {
    enum Claim: String, CaseIterable {
        case peer
        case own
    }

    let listener: TCPListener
    let target: RelayTarget
    let fromSender: Capture
    let fromReceiver: Capture
    let claim: Claim
    let acceptSeconds: Double

    private let step = 30.0
    private let cap = 65_536
    private let identity = SigningKeyPair.generate()

    func run() throws(RelayError) {
        let (sender, receiverAddress) = try acceptSender(listener, target: target, identity: identity, seconds: acceptSeconds)

        let m1Bytes = try read(sender, "the sender's M1", capture: fromSender)
        let m1 = try parse("the sender's M1") { () throws(HandshakeError) in try HandshakeM1(parsing: m1Bytes) }
        var line = RelayEvent("sender-hello")
        line.mode = m1.mode == .known ? "KNOWN" : "PAIR"
        line.fingerprint = Fingerprint.full(of: m1.identityKey)
        line.emit()

        // The session to the receiver, as the sender (kx client) with the sender's key.
        let receiver = try TCPConnection.connect(to: receiverAddress)
        let toReceiver = try ReceiverSide(connection: receiver, claimedSender: m1.identityKey, capture: fromReceiver, cap: cap, step: step)

        // The sender's session, as the receiver (kx server).
        let claimed = claim == .peer ? toReceiver.receiverKey : identity.publicKey
        let exchange = KXKeyPair.generate()
        let kx: (receive: SecretKey, transmit: SecretKey)
        do {
            kx = try exchange.serverSessionKeys(clientPublicKey: m1.ephemeralKey)
        } catch {
            throw .usage("the sender's ephemeral key was refused: \(error)")
        }
        let m2 = HandshakeM2(mode: .known, nonce: Random.bytes(HandshakeWire.nonceBytes),
                             ephemeralKey: exchange.publicKey, identityKey: claimed).encoded
        try sender.writeFrame(m2)
        line = RelayEvent("claimed-to-sender")
        line.fingerprint = Fingerprint.full(of: claimed)
        line.message = claim == .peer ? "the receiver's key, as KNOWN" : "the relay's own key, as KNOWN"
        line.emit()
        if claim == .peer {
            let th = try parse("the transcript hash") { () throws(HandshakeError) in
                try HandshakeKeySchedule.transcriptHash(m1: m1Bytes, m2: m2)
            }
            let keys = try parse("the key schedule") { () throws(HandshakeError) in
                try HandshakeKeySchedule.keys(transcriptHash: th, intermediateSessionKey: [],
                                              kxSenderToReceiver: kx.receive, kxReceiverToSender: kx.transmit)
            }
            let input = HandshakeKeySchedule.authenticationInput(role: .receiver, transcriptHash: th, senderShare: [],
                                                                 receiverShare: [], summaryHash: [])
            let signature = toReceiver.receiverSignature
            let tag = HandshakeKeySchedule.confirmationTag(authenticationInput: input, signature: signature, key: keys.confirmReceiver)
            try sender.writeFrame(HandshakeM4(share: [], signature: signature, tag: tag).encoded)
            RelayEvent.emit("forged-to-sender", message: "M4 with a valid tag for this session and the receiver's signature from the other session")
        }
        reportAnswer(sender, side: "sender", accepted: "the sender sent M5: it accepted the relay as the receiver")

        // Back to the receiver: M5 with a valid tag and the only signature the relay can make.
        try toReceiver.sendForgedM5(signer: identity)
        RelayEvent.emit("forged-to-receiver", message: "M5 with a valid tag for this session and the relay's own signature")
        reportAnswer(receiver, side: "receiver", accepted: "the receiver went on after M5: it accepted the relay as the sender")
        sender.hangUp()
        receiver.hangUp()
    }

    /// Reads what the side does after the forged message: an abort notice or a close is a
    /// refusal (`refused-by-…`); any other frame means the forgery was accepted.
    private func reportAnswer(_ connection: TCPConnection, side: String, accepted: String) {
        do {
            let frame = try connection.readFrame(cap: cap, what: "the \(side)'s answer", seconds: step)
            if let abort = AbortNotice.text(frame) {
                RelayEvent.emit("refused-by-\(side)", message: abort)
            } else {
                RelayEvent.emit("accepted-by-\(side)", message: accepted)
            }
        } catch .closed {
            RelayEvent.emit("refused-by-\(side)", message: "closed the connection")
        } catch {
            RelayEvent.emit("refused-by-\(side)", message: "\(error)")
        }
    }

    private func read(_ connection: TCPConnection, _ what: String, capture: Capture) throws(RelayError) -> [UInt8] {
        let frame = try connection.readRecorded(cap: cap, what: what, seconds: step, into: capture)
        if let abort = AbortNotice.text(frame) { throw .usage("\(what) was an abort notice: \(abort)") }
        return frame
    }
}

/// The relay's session to the real receiver, in which it claims to be the paired sender:
/// M1 (KNOWN, the sender's identity key, the relay's ephemeral key), then the receiver's
/// M2 and M4. The receiver's key and signature are kept for the other session.
private struct ReceiverSide {
    let connection: TCPConnection
    let receiverKey: [UInt8]
    let receiverSignature: [UInt8]
    private let transcriptHash: [UInt8]
    private let keys: HandshakeKeys

    init(connection: TCPConnection, claimedSender: [UInt8], capture: Capture, cap: Int, step: Double) throws(RelayError) {
        self.connection = connection
        let exchange = KXKeyPair.generate()
        let m1 = HandshakeM1(mode: .known, nonce: Random.bytes(HandshakeWire.nonceBytes),
                             ephemeralKey: exchange.publicKey, identityKey: claimedSender).encoded
        try connection.writeFrame(m1)
        let m2Bytes = try connection.readRecorded(cap: cap, what: "the receiver's M2", seconds: step, into: capture)
        if let abort = AbortNotice.text(m2Bytes) { throw .usage("the receiver refused M1: \(abort)") }
        let m2 = try parse("the receiver's M2") { () throws(HandshakeError) in try HandshakeM2(parsing: m2Bytes) }
        var line = RelayEvent("receiver-hello")
        line.mode = m2.mode == .known ? "KNOWN" : "PAIR"
        line.fingerprint = Fingerprint.full(of: m2.identityKey)
        line.emit()
        guard m2.mode == .known else {
            throw .usage("the receiver does not know the claimed sender (it answered PAIR): pair the agents first")
        }
        receiverKey = m2.identityKey
        let kx: (receive: SecretKey, transmit: SecretKey)
        do {
            kx = try exchange.clientSessionKeys(serverPublicKey: m2.ephemeralKey)
        } catch {
            throw .usage("the receiver's ephemeral key was refused: \(error)")
        }
        let th = try parse("the transcript hash") { () throws(HandshakeError) in try HandshakeKeySchedule.transcriptHash(m1: m1, m2: m2Bytes) }
        transcriptHash = th
        keys = try parse("the key schedule") { () throws(HandshakeError) in
            try HandshakeKeySchedule.keys(transcriptHash: th, intermediateSessionKey: [],
                                          kxSenderToReceiver: kx.transmit, kxReceiverToSender: kx.receive)
        }
        // In KNOWN mode the receiver sends M4 at once.
        let m4Bytes = try connection.readRecorded(cap: cap, what: "the receiver's M4", seconds: step, into: capture)
        if let abort = AbortNotice.text(m4Bytes) { throw .usage("the receiver refused before M4: \(abort)") }
        let m4 = try parse("the receiver's M4") { () throws(HandshakeError) in try HandshakeM4(parsing: m4Bytes, mode: .known) }
        receiverSignature = m4.signature
        // The relay's own check that it follows the key schedule: the receiver's tag verifies
        // under the keys it computed, and the signature under the receiver's key. So the
        // refusals that follow come from the identity signatures, not from a wrong key.
        let input = HandshakeKeySchedule.authenticationInput(role: .receiver, transcriptHash: th, senderShare: [],
                                                             receiverShare: [], summaryHash: [])
        line = RelayEvent("receiver-m4")
        line.tagValid = HandshakeKeySchedule.verifyConfirmationTag(m4.tag, authenticationInput: input,
                                                                  signature: m4.signature, key: keys.confirmReceiver)
        line.signatureValid = Ed25519.verify(signature: m4.signature, message: input, publicKey: m2.identityKey)
        line.emit()
    }

    func sendForgedM5(signer: SigningKeyPair) throws(RelayError) {
        let input = HandshakeKeySchedule.authenticationInput(role: .sender, transcriptHash: transcriptHash, senderShare: [],
                                                             receiverShare: [], summaryHash: [])
        let signature = signer.sign(input)
        let tag = HandshakeKeySchedule.confirmationTag(authenticationInput: input, signature: signature, key: keys.confirmSender)
        try connection.writeFrame(HandshakeM5(signature: signature, tag: tag).encoded)
    }
}

/// Runs a PeershareCore step, reporting its failure as the relay's.
private func parse<T>(_ what: String, _ body: () throws(HandshakeError) -> T) throws(RelayError) -> T {
    do {
        return try body()
    } catch {
        throw .usage("\(what): \(error)")
    }
}
