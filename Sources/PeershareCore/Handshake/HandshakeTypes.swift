import SodiumKit

/// How a session authenticates: PAIR runs CPace with a pairing code; KNOWN relies on both identity
/// keys already being pinned. The raw value is the mode byte on the wire.
public enum HandshakeMode: UInt8, Sendable {
    case pair = 1
    case known = 2
}

/// What a successful handshake yields to the session layer.
public struct HandshakeOutcome: Sendable, CustomStringConvertible {
    /// The agreed mode.
    public let mode: HandshakeMode
    /// The protocol version of this session (M1's, bound by the transcript hash).
    public let version: ProtocolVersion
    /// The other side's Ed25519 public key (32 bytes), proven by its signature.
    public let peerIdentity: [UInt8]
    /// This side's outgoing secretstream key (k_c2s for the sender S, k_s2c for the receiver R).
    public let sendKey: SecretKey
    /// This side's incoming secretstream key.
    public let receiveKey: SecretKey
    /// `crypto_generichash(32, summary)` of the M3 offer summary plaintext (empty in KNOWN mode).
    public let summaryHash: [UInt8]

    package init(mode: HandshakeMode, version: ProtocolVersion, peerIdentity: [UInt8], sendKey: SecretKey,
                 receiveKey: SecretKey, summaryHash: [UInt8]) {
        self.mode = mode
        self.version = version
        self.peerIdentity = peerIdentity
        self.sendKey = sendKey
        self.receiveKey = receiveKey
        self.summaryHash = summaryHash
    }

    public var description: String {
        "HandshakeOutcome(mode: \(mode), peer: \(Fingerprint.short(of: peerIdentity)), keys: redacted)"
    }
}

/// What the sender does after reading M2.
public enum SenderStep: Sendable {
    /// PAIR: show the code to the person, send M3.
    case pairing(code: PairingCode, m3: [UInt8])
    /// KNOWN: nothing to send, wait for M4.
    case known
}
