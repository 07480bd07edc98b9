import SodiumKit

/// Values a handshake side would otherwise draw at random, fixed for known-answer tests
/// (docs/vectors: M1–M5 byte for byte). Every field left nil is drawn at random as usual;
/// agents never set any, and reusing fixed values outside a test would destroy the
/// handshake's secrecy.
package struct HandshakeDraws: Sendable {
    /// The X25519 secret key of this side's ephemeral `crypto_kx` key pair.
    package var ephemeralSecretKey: [UInt8]?
    /// nS (sender) or nR (receiver).
    package var nonce: [UInt8]?
    /// The CPace scalar ya (sender) or yb (receiver).
    package var cpaceScalar: SecretKey?
    /// Sender only: the pairing code it shows.
    package var pairingCode: PairingCode?
    /// Sender only: the 24-byte secretbox nonce of the summary in M3.
    package var summaryNonce: [UInt8]?

    package init(ephemeralSecretKey: [UInt8]? = nil, nonce: [UInt8]? = nil, cpaceScalar: SecretKey? = nil,
                 pairingCode: PairingCode? = nil, summaryNonce: [UInt8]? = nil) {
        self.ephemeralSecretKey = ephemeralSecretKey
        self.nonce = nonce
        self.cpaceScalar = cpaceScalar
        self.pairingCode = pairingCode
        self.summaryNonce = summaryNonce
    }

    /// The ephemeral key pair: the fixed one, or a fresh one.
    func ephemeralKeyPair() throws(HandshakeError) -> KXKeyPair {
        guard let ephemeralSecretKey else { return KXKeyPair.generate() }
        return try HandshakeKeySchedule.crypto("fixed ephemeral key") { () throws(SodiumError) in
            try KXKeyPair(secretKey: ephemeralSecretKey)
        }
    }

    /// nS or nR: the fixed one, or 32 fresh random bytes.
    func handshakeNonce() -> [UInt8] {
        nonce ?? Random.bytes(HandshakeWire.nonceBytes)
    }

    /// The CPace scalar: the fixed one, or a fresh random one.
    func scalar() -> SecretKey {
        cpaceScalar ?? CPace.randomScalar()
    }

    /// The summary sealed for M3 (nonce || box), under the fixed nonce if there is one.
    func sealSummary(_ summary: [UInt8], key: SecretKey) throws(HandshakeError) -> [UInt8] {
        try HandshakeKeySchedule.crypto("summary encryption") { () throws(SodiumError) in
            if let summaryNonce { return try SecretBox.seal(summary, key: key, nonce: summaryNonce) }
            return try SecretBox.seal(summary, key: key)
        }
    }
}
