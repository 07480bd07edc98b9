/// Why a handshake failed. Every case ends the attempt: the state machine refuses further steps,
/// and in PAIR mode the pairing code must be thrown away. Descriptions never contain key material.
public enum HandshakeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A message could not be parsed (wrong length, trailing or missing bytes, bad magic, unknown
    /// message type or mode, over the 64 KiB cap). The text says which part.
    case malformed(String)
    /// M1 carried a protocol version this agent does not speak.
    case unsupportedVersion(UInt8)
    /// A well-formed handshake message of another type arrived where this one was expected.
    case unexpectedMessage
    /// The sender asked to pair and the answer claimed KNOWN mode: an attempt to skip the code.
    case downgrade
    /// KNOWN mode, but the receiver's identity key is not the one pinned for it.
    case pinMismatch
    /// `crypto_kx_*_session_keys` returned -1: the peer's ephemeral key is a low-order point.
    case keyExchangeFailed
    /// A CPace share was invalid, the identity point, or equal to our own share.
    case invalidPoint
    /// The key-confirmation tag did not match: wrong pairing code, or the connection was tampered with.
    case confirmationFailed
    /// The confirmation tag matched but the identity signature did not verify.
    case badSignature
    /// The encrypted offer summary in M3 failed authentication.
    case summaryUndecryptable
    /// A handshake step was called out of order, twice, or after a failure.
    case outOfOrder
    /// The offer summary is too large to fit into M3.
    case summaryTooLarge(maximum: Int)
    /// The pinned receiver key given to the sender is not a 32-byte Ed25519 public key.
    case invalidPinnedKey
    /// PAIR mode needs the pairing code the person typed.
    case pairingCodeRequired
    /// KNOWN mode uses no pairing code, but one was given.
    case pairingCodeNotExpected
    /// A cryptographic primitive failed unexpectedly (the text names it).
    case cryptoFailure(String)

    public var description: String {
        switch self {
        case let .malformed(detail):
            "The peer sent a malformed handshake message (\(detail)); the connection was closed."
        case let .unsupportedVersion(version):
            "The peer speaks handshake version \(version), which this agent does not support; update both agents."
        case .unexpectedMessage:
            "The peer sent a handshake message out of turn; the connection was closed."
        case .downgrade:
            "The answer tried to skip the pairing code (PAIR downgraded to KNOWN): someone may be tampering with the connection."
        case .pinMismatch:
            "The receiver's identity key differs from the one pinned for it: it may be another device; pair again with a code if this is expected."
        case .keyExchangeFailed:
            "The peer sent an invalid key-exchange key; the connection was closed."
        case .invalidPoint:
            "The peer sent an invalid pairing value; the connection was closed."
        case .confirmationFailed:
            "Wrong pairing code, or someone tampered with the connection: start again with a new code."
        case .badSignature:
            "The peer could not prove its identity key (bad signature): someone may be impersonating it."
        case .summaryUndecryptable:
            "The offer summary could not be decrypted: the connection was tampered with."
        case .outOfOrder:
            "Handshake steps were called out of order or after a failure; start a new handshake."
        case let .summaryTooLarge(maximum):
            "The offer summary is larger than \(maximum) bytes; shorten it."
        case .invalidPinnedKey:
            "The pinned key for the receiver is not a 32-byte identity key; forget and pair again."
        case .pairingCodeRequired:
            "Pairing needs the code shown on the sending device."
        case .pairingCodeNotExpected:
            "This peer is already paired; no pairing code is needed."
        case let .cryptoFailure(detail):
            "A cryptographic operation failed unexpectedly (\(detail))."
        }
    }
}
