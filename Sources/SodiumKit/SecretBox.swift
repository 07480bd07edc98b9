internal import CSodium

/// One-shot authenticated encryption (`crypto_secretbox_easy`, XSalsa20-Poly1305) with a random
/// nonce sent in front: `nonce (24) || MAC (16) || ciphertext`.
package enum SecretBox {
    /// Length of the nonce.
    package static let nonceBytes = 24
    /// Length of the authentication tag.
    package static let macBytes = 16
    /// Total overhead of `seal` over the plaintext.
    package static let overheadBytes = nonceBytes + macBytes

    /// Encrypts `plaintext` under `key` with a fresh random nonce; returns nonce || box.
    package static func seal(_ plaintext: [UInt8], key: SecretKey) throws(SodiumError) -> [UInt8] {
        try seal(plaintext, key: key, nonce: Random.bytes(nonceBytes))
    }

    /// Encrypts `plaintext` under `key` with the given 24-byte `nonce`; returns nonce || box.
    /// Only for known-answer tests (docs/vectors): a nonce must never be used twice with a key.
    package static func seal(_ plaintext: [UInt8], key: SecretKey, nonce: [UInt8]) throws(SodiumError) -> [UInt8] {
        Sodium.ensureInitialized()
        guard plaintext.count <= Int(clamping: UInt(bitPattern: crypto_secretbox_messagebytes_max())) else {
            throw .messageTooLong(plaintext.count)
        }
        guard nonce.count == nonceBytes else { throw .invalidInputLength(expected: nonceBytes, actual: nonce.count) }
        var output = [UInt8](repeating: 0, count: overheadBytes + plaintext.count)
        let result = output.withMutableBytePointer { out in
            plaintext.withBytePointer { m in
                nonce.withBytePointer { n in
                    key.withUnsafePointer { k in
                        crypto_secretbox_easy(out + nonceBytes, m, UInt64(plaintext.count), n, k)
                    }
                }
            }
        }
        guard result == 0 else { throw .unexpectedFailure(function: "crypto_secretbox_easy", code: result) }
        output.replaceSubrange(0..<nonceBytes, with: nonce)
        return output
    }

    /// Decrypts nonce || box made by `seal` (`crypto_secretbox_open_easy`). Throws
    /// `ciphertextTooShort` under 40 bytes and `boxDecryptionFailed` on a wrong key or any change.
    package static func open(_ sealed: [UInt8], key: SecretKey) throws(SodiumError) -> [UInt8] {
        Sodium.ensureInitialized()
        guard sealed.count >= overheadBytes else { throw .ciphertextTooShort(sealed.count) }
        var plaintext = [UInt8](repeating: 0, count: sealed.count - overheadBytes)
        let result = plaintext.withMutableBytePointer { out in
            sealed.withBytePointer { input in
                key.withUnsafePointer { k in
                    crypto_secretbox_open_easy(out, input + nonceBytes, UInt64(sealed.count - nonceBytes), input, k)
                }
            }
        }
        guard result == 0 else { throw .boxDecryptionFailed }
        return plaintext
    }
}
