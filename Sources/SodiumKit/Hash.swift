internal import CSodium

/// Hash functions.
public enum Hash {
    /// Shortest output `crypto_generichash` accepts.
    public static let genericMinimumLength = 16
    /// Longest output (and key) `crypto_generichash` accepts.
    public static let genericMaximumLength = 64

    /// BLAKE2b (`crypto_generichash`), optionally keyed. `outputLength` must be 16...64 and `key`,
    /// when given and not empty, 16...64 bytes.
    public static func generic(_ data: [UInt8], outputLength: Int, key: [UInt8]? = nil) throws(SodiumError) -> [UInt8] {
        Sodium.ensureInitialized()
        guard (genericMinimumLength...genericMaximumLength).contains(outputLength) else {
            throw .invalidHashLength(outputLength)
        }
        let keyBytes = key ?? []
        guard keyBytes.isEmpty || (genericMinimumLength...genericMaximumLength).contains(keyBytes.count) else {
            throw .invalidHashKeyLength(keyBytes.count)
        }
        var output = [UInt8](repeating: 0, count: outputLength)
        let result = output.withMutableBytePointer { out in
            data.withBytePointer { input in
                keyBytes.withBytePointer { k in
                    crypto_generichash(out, outputLength, input, UInt64(data.count),
                                       keyBytes.isEmpty ? nil : k, keyBytes.count)
                }
            }
        }
        guard result == 0 else { throw .unexpectedFailure(function: "crypto_generichash", code: result) }
        return output
    }

    /// Unkeyed BLAKE2b output lengths that `crypto_generichash` always accepts.
    public enum DigestLength: Int, Sendable {
        case bytes16 = 16
        case bytes32 = 32
    }

    /// Unkeyed BLAKE2b of a length that is valid by construction, so there is no error to
    /// handle, and no caller can turn one into an empty digest that every input shares.
    /// `crypto_generichash` fails only for lengths outside 16...64; should it fail anyway,
    /// that is a broken libsodium, not bad input, and the process stops.
    public static func generic(_ data: [UInt8], length: DigestLength) -> [UInt8] {
        do {
            return try generic(data, outputLength: length.rawValue)
        } catch {
            preconditionFailure("crypto_generichash refused a valid length: \(error)")
        }
    }

    /// BLAKE2b with a key held in a `SecretKey` (`crypto_generichash`, 32-byte key).
    package static func generic(_ data: [UInt8], outputLength: Int, key: SecretKey) throws(SodiumError) -> [UInt8] {
        Sodium.ensureInitialized()
        guard (genericMinimumLength...genericMaximumLength).contains(outputLength) else {
            throw .invalidHashLength(outputLength)
        }
        var output = [UInt8](repeating: 0, count: outputLength)
        let result = output.withMutableBytePointer { out in
            data.withBytePointer { input in
                key.withUnsafePointer { k in
                    crypto_generichash(out, outputLength, input, UInt64(data.count), k, SecretKey.byteCount)
                }
            }
        }
        guard result == 0 else { throw .unexpectedFailure(function: "crypto_generichash", code: result) }
        return output
    }

    /// SHA-512 (`crypto_hash_sha512`): 64 bytes.
    public static func sha512(_ data: [UInt8]) -> [UInt8] {
        Sodium.ensureInitialized()
        var output = [UInt8](repeating: 0, count: 64)
        output.withMutableBytePointer { out in
            data.withBytePointer { input in
                // Documented to always return 0.
                _ = crypto_hash_sha512(out, input, UInt64(data.count))
            }
        }
        return output
    }
}

extension Hash {
    /// A 32-byte secret derived with keyed BLAKE2b (`crypto_generichash`, 32-byte output), whose key
    /// is the concatenation of `keyParts` (16...64 bytes in all). The key is assembled and the
    /// result written in storage wiped on release, so neither passes through a Swift array.
    package static func derivedKey(_ data: [UInt8], keyParts: [SecretKey]) throws(SodiumError) -> SecretKey {
        Sodium.ensureInitialized()
        let keyLength = keyParts.count * SecretKey.byteCount
        guard (genericMinimumLength...genericMaximumLength).contains(keyLength) else {
            throw .invalidHashKeyLength(keyLength)
        }
        let key = SecretBytes(count: keyLength) { destination in
            for (index, part) in keyParts.enumerated() {
                part.withUnsafePointer { source in
                    (destination + index * SecretKey.byteCount).update(from: source, count: SecretKey.byteCount)
                }
            }
            return 0
        }
        let output = SecretBytes(count: SecretKey.byteCount) { out in
            data.withBytePointer { input in
                key.withUnsafePointer { k in
                    crypto_generichash(out, SecretKey.byteCount, input, UInt64(data.count), k, keyLength)
                }
            }
        }
        guard output.fillResult == 0 else {
            throw .unexpectedFailure(function: "crypto_generichash", code: output.fillResult)
        }
        return SecretKey(storage: output)
    }
}
