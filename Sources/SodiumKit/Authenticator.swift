internal import CSodium

/// HMAC-SHA-512-256 (`crypto_auth_hmacsha512256`): the key-confirmation tags of the handshake.
package enum HMACSHA512256 {
    /// Length of a tag.
    package static let tagBytes = 32

    /// The 32-byte tag of `message` under `key` (`crypto_auth_hmacsha512256`).
    package static func authenticate(_ message: [UInt8], key: SecretKey) -> [UInt8] {
        Sodium.ensureInitialized()
        var tag = [UInt8](repeating: 0, count: tagBytes)
        tag.withMutableBytePointer { out in
            message.withBytePointer { m in
                key.withUnsafePointer { k in
                    // Documented to always return 0.
                    _ = crypto_auth_hmacsha512256(out, m, UInt64(message.count), k)
                }
            }
        }
        return tag
    }

    /// Whether `tag` is the tag of `message` under `key`, compared in constant time
    /// (`crypto_auth_hmacsha512256_verify`). A tag of the wrong length is false.
    package static func verify(_ tag: [UInt8], message: [UInt8], key: SecretKey) -> Bool {
        Sodium.ensureInitialized()
        guard tag.count == tagBytes else { return false }
        return tag.withBytePointer { t in
            message.withBytePointer { m in
                key.withUnsafePointer { k in
                    crypto_auth_hmacsha512256_verify(t, m, UInt64(message.count), k) == 0
                }
            }
        }
    }
}
