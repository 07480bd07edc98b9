internal import CSodium

/// Subkey derivation from a master key (`crypto_kdf_derive_from_key`, BLAKE2b-based). libsodium
/// 1.0.18 has no HKDF; this is its documented replacement.
package enum KeyDerivation {
    /// Length of a context string.
    package static let contextBytes = 8

    /// Derives the 32-byte subkey number `id` for `context` (exactly 8 ASCII bytes) from `key`.
    package static func derive(id: UInt64, context: String, from key: SecretKey) throws(SodiumError) -> SecretKey {
        Sodium.ensureInitialized()
        let contextBytes = Array(context.utf8)
        guard contextBytes.count == Self.contextBytes else { throw .invalidDerivationParameters }
        let subkey = SecretBytes(count: SecretKey.byteCount) { out in
            contextBytes.withBytePointer { ctx in
                ctx.withMemoryRebound(to: CChar.self, capacity: Self.contextBytes) { ctxChars in
                    key.withUnsafePointer { k in
                        crypto_kdf_derive_from_key(out, SecretKey.byteCount, id, ctxChars, k)
                    }
                }
            }
        }
        guard subkey.fillResult == 0 else {
            throw .unexpectedFailure(function: "crypto_kdf_derive_from_key", code: subkey.fillResult)
        }
        return SecretKey(storage: subkey)
    }
}
