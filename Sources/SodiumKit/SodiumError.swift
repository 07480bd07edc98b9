/// Every failure SodiumKit reports. Flat and specific, so a caller can react to each case;
/// the messages never contain key material.
public enum SodiumError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `sodium_init` returned -1.
    case initializationFailed
    /// A key had the wrong length.
    case invalidKeyLength(expected: Int, actual: Int)
    /// An Ed25519 secret key (64 bytes, seed followed by public key) had the wrong length, or its
    /// public half does not belong to its seed.
    case invalidSigningKey
    /// A secretstream header had the wrong length.
    case invalidHeaderLength(expected: Int, actual: Int)
    /// A nonce, scalar, point or other fixed-size input had the wrong length.
    case invalidInputLength(expected: Int, actual: Int)
    /// `crypto_generichash` was asked for an output length outside 16...64 bytes.
    case invalidHashLength(Int)
    /// `crypto_generichash` was given a key whose length is not 0 or 16...64 bytes.
    case invalidHashKeyLength(Int)
    /// `crypto_kdf_derive_from_key` was asked for a subkey length outside 16...64 bytes, or a
    /// context that is not 8 bytes.
    case invalidDerivationParameters
    /// The output buffer cannot hold the result.
    case outputTooSmall(needed: Int, available: Int)
    /// A message is longer than libsodium accepts for this operation.
    case messageTooLong(Int)
    /// A ciphertext is shorter than the authentication overhead.
    case ciphertextTooShort(Int)
    /// Secretstream `pull` failed: forged, corrupted, replayed, reordered or truncated ciphertext.
    case streamDecryptionFailed
    /// A secretstream was used after its final message (push or pull).
    case streamFinished
    /// `crypto_secretbox_open_easy` failed: wrong key or modified ciphertext.
    case boxDecryptionFailed
    /// `crypto_kx_*_session_keys` returned -1: the peer's public key is a low-order point.
    case keyExchangeFailed
    /// `crypto_scalarmult_ristretto255` returned -1 (invalid encoding, or the result is the
    /// identity point), or `crypto_core_ristretto255_from_hash` failed.
    case invalidPoint
    /// A libsodium call that is documented never to fail returned an error.
    case unexpectedFailure(function: String, code: Int32)

    public var description: String {
        switch self {
        case .initializationFailed:
            "libsodium could not be initialised (sodium_init failed); check the libsodium installation."
        case let .invalidKeyLength(expected, actual):
            "A key must be \(expected) bytes long, but \(actual) bytes were given."
        case .invalidSigningKey:
            "The Ed25519 secret key is damaged: it must be 64 bytes whose second half is the public key of the first."
        case let .invalidHeaderLength(expected, actual):
            "A secretstream header must be \(expected) bytes long, but \(actual) bytes were given."
        case let .invalidInputLength(expected, actual):
            "An input must be \(expected) bytes long, but \(actual) bytes were given."
        case let .invalidHashLength(length):
            "A BLAKE2b output must be 16 to 64 bytes long, but \(length) bytes were asked for."
        case let .invalidHashKeyLength(length):
            "A BLAKE2b key must be empty or 16 to 64 bytes long, but \(length) bytes were given."
        case .invalidDerivationParameters:
            "Key derivation needs a subkey length of 16 to 64 bytes and an 8-byte context."
        case let .outputTooSmall(needed, available):
            "The output buffer holds \(available) bytes, but \(needed) bytes are needed."
        case let .messageTooLong(length):
            "A message of \(length) bytes is longer than the cryptographic library accepts."
        case let .ciphertextTooShort(length):
            "A ciphertext of \(length) bytes is shorter than its authentication overhead: it was cut or forged."
        case .streamDecryptionFailed:
            "An encrypted frame failed authentication (corrupted, forged, replayed or out of order); the session must be closed."
        case .streamFinished:
            "The encrypted stream already ended with its final frame; nothing may follow it."
        case .boxDecryptionFailed:
            "An encrypted box failed authentication: wrong key or modified data."
        case .keyExchangeFailed:
            "The key exchange failed because the peer sent an invalid (low-order) public key."
        case .invalidPoint:
            "A group element was invalid or the identity point."
        case let .unexpectedFailure(function, code):
            "libsodium's \(function) failed unexpectedly (code \(code))."
        }
    }
}
