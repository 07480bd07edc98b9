import SodiumKit

/// The sender S of docs/PROTOCOL.md §3, step by step, from `SpecHandshake`'s formulas: what
/// the hostile peer runs instead of the product's `SenderHandshake`.
public struct SpecSender: Sendable {
    public enum AfterM2: Sendable {
        /// PAIR: the code to type on the receiver, and M3 (not yet sent).
        case pairing(code: String, m3: [UInt8])
        case known
    }

    /// What a finished handshake gives S.
    public struct Outcome: Sendable {
        public let sendKey: SecretKey, receiveKey: SecretKey, peerIdentity: [UInt8]
    }

    private let identity: SigningKeyPair
    private let pinnedReceiver: [UInt8]?
    private let summary: [UInt8]
    private let ephemeral = KXKeyPair.generate()
    private var m1: [UInt8] = []
    private var mode = SpecHandshake.pair
    private var th: [UInt8] = []
    private var kx: (c2s: [UInt8], s2c: [UInt8]) = ([], [])
    private var cpace: (ya: SecretKey, shareA: [UInt8], sid: [UInt8])?
    private var summaryHash: [UInt8] = []
    public private(set) var receiverIdentity: [UInt8]?
    /// S asked KNOWN and R answered PAIR.
    public private(set) var fellBackToPairing = false

    /// `pinnedReceiver`: R's pinned identity key (S asks KNOWN), or nil (PAIR). `summary`:
    /// the OFFER body sealed into M3 in PAIR mode.
    public init(identity: SigningKeyPair, pinnedReceiver: [UInt8]?, summary: [UInt8]) {
        self.identity = identity
        self.pinnedReceiver = pinnedReceiver
        self.summary = summary
    }

    public mutating func makeM1() -> [UInt8] {
        m1 = SpecHandshake.m1(mode: pinnedReceiver == nil ? SpecHandshake.pair : SpecHandshake.known, nonce: Random.bytes(32),
                              ephemeralKey: ephemeral.publicKey, identityKey: identity.publicKey)
        return m1
    }

    /// Checks M2 (mode, pin), derives th and the kx keys; in PAIR mode draws the code and
    /// makes M3.
    public mutating func handleM2(_ m2: [UInt8]) throws -> AfterM2 {
        let parsed = try SpecHandshake.M2(parsing: m2)
        let asked = m1[6]
        guard parsed.mode == SpecHandshake.pair || (parsed.mode == SpecHandshake.known && asked == SpecHandshake.known) else {
            throw SpecError.downgrade
        }
        if let pinnedReceiver, parsed.identityKey != pinnedReceiver { throw SpecError.pinMismatch }
        receiverIdentity = parsed.identityKey
        mode = parsed.mode
        fellBackToPairing = asked == SpecHandshake.known && mode == SpecHandshake.pair
        th = try SpecHandshake.transcriptHash(m1: m1, m2: m2)
        do {
            let keys = try ephemeral.clientSessionKeys(serverPublicKey: parsed.ephemeralKey)
            kx = (keys.transmit.bytes, keys.receive.bytes)
        } catch {
            throw SpecError.keyExchange
        }
        guard mode == SpecHandshake.pair else { return .known }
        let number = String(Random.uniform(1_000_000))
        let digits = String(repeating: "0", count: 6 - number.count) + number
        let sid = Array(th.prefix(32))
        let g = try SpecHandshake.generator(SpecHandshake.generatorString(
            code: digits, senderIdentity: identity.publicKey, receiverIdentity: parsed.identityKey, sid: sid))
        let ya = Ristretto255.randomScalar()
        let shareA = try Ristretto255.multiply(scalar: ya, point: g)
        cpace = (ya, shareA, sid)
        let summaryKey = try SecretKey(bytes: SpecHandshake.summaryKey(th: th, kxC2S: kx.c2s))
        summaryHash = try Hash.generic(summary, outputLength: 32)
        return .pairing(code: digits, m3: SpecHandshake.m3(ya: shareA, sealedSummary: try SecretBox.seal(summary, key: summaryKey)))
    }

    /// Checks M4 (the tag first, then the signature) and makes M5.
    public func handleM4(_ m4: [UInt8]) throws -> (m5: [UInt8], outcome: Outcome) {
        let shareLength = mode == SpecHandshake.pair ? 32 : 0
        guard m4.count == 1 + shareLength + 64 + 32, m4[0] == 4, let receiverIdentity else { throw SpecError.malformed("M4") }
        let shareB = Array(m4[1..<(1 + shareLength)])
        let signature = Array(m4[(1 + shareLength)..<(65 + shareLength)])
        let tag = Array(m4[(65 + shareLength)...])
        var isk: [UInt8] = []
        var shareA: [UInt8] = []
        if let cpace {
            shareA = cpace.shareA
            guard shareB != shareA, let k = try? Ristretto255.multiply(scalar: cpace.ya, point: shareB) else {
                throw SpecError.invalidShare
            }
            isk = SpecHandshake.isk(sid: cpace.sid, k: k, ya: shareA, yb: shareB)
        }
        let keys = try SpecHandshake.Keys(prk: SpecHandshake.prk(th: th, isk: isk, kxC2S: kx.c2s, kxS2C: kx.s2c))
        let receiverInput = SpecHandshake.authInput(role: "R", th: th, ya: shareA, yb: shareB, summaryHash: summaryHash)
        guard SpecHandshake.verifyTag(tag, authInput: receiverInput, signature: signature, key: keys.confirmReceiver) else {
            throw SpecError.wrongConfirmation
        }
        guard Ed25519.verify(signature: signature, message: receiverInput, publicKey: receiverIdentity) else {
            throw SpecError.badSignature
        }
        let senderInput = SpecHandshake.authInput(role: "S", th: th, ya: shareA, yb: shareB, summaryHash: summaryHash)
        let senderSignature = identity.sign(senderInput)
        let m5 = SpecHandshake.m5(signature: senderSignature,
                                  tag: SpecHandshake.tag(authInput: senderInput, signature: senderSignature, key: keys.confirmSender))
        return (m5, Outcome(sendKey: keys.senderToReceiver, receiveKey: keys.receiverToSender, peerIdentity: receiverIdentity))
    }
}
