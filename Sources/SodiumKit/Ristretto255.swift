internal import CSodium

/// The ristretto255 prime-order group (`crypto_core_ristretto255_*`, `crypto_scalarmult_ristretto255`),
/// used by CPace.
package enum Ristretto255 {
    /// Length of an encoded group element.
    package static let pointBytes = 32
    /// Length of a scalar.
    package static let scalarBytes = 32
    /// Length of the uniform input of `fromHash`.
    package static let hashBytes = 64

    /// Maps 64 uniform bytes to a group element (`crypto_core_ristretto255_from_hash`).
    package static func fromHash(_ hash: [UInt8]) throws(SodiumError) -> [UInt8] {
        Sodium.ensureInitialized()
        guard hash.count == hashBytes else { throw .invalidInputLength(expected: hashBytes, actual: hash.count) }
        var point = [UInt8](repeating: 0, count: pointBytes)
        let result = point.withMutableBytePointer { p in
            hash.withBytePointer { h in crypto_core_ristretto255_from_hash(p, h) }
        }
        guard result == 0 else { throw .invalidPoint }
        return point
    }

    /// A uniformly random non-zero scalar (`crypto_core_ristretto255_scalar_random`).
    package static func randomScalar() -> SecretKey {
        Sodium.ensureInitialized()
        return SecretKey(storage: SecretBytes(count: scalarBytes) { scalar in
            crypto_core_ristretto255_scalar_random(scalar)
            return 0
        })
    }

    /// `scalar * point` (`crypto_scalarmult_ristretto255`). Throws `invalidPoint` when libsodium
    /// returns -1: `point` is not a valid canonical encoding, or the result is the identity
    /// (which includes `point` being the identity, whose encoding `is_valid_point` accepts).
    package static func multiply(scalar: SecretKey, point: [UInt8]) throws(SodiumError) -> [UInt8] {
        Sodium.ensureInitialized()
        guard point.count == pointBytes else { throw .invalidInputLength(expected: pointBytes, actual: point.count) }
        var output = [UInt8](repeating: 0, count: pointBytes)
        let result = output.withMutableBytePointer { q in
            point.withBytePointer { p in
                scalar.withUnsafePointer { n in crypto_scalarmult_ristretto255(q, n, p) }
            }
        }
        guard result == 0 else {
            Memory.wipe(&output)
            throw .invalidPoint
        }
        return output
    }

    /// Whether `point` is a canonical encoding of a group element other than the identity
    /// (`crypto_core_ristretto255_is_valid_point` plus a check for the all-zero identity encoding,
    /// which that function accepts).
    package static func isValidNonIdentity(_ point: [UInt8]) -> Bool {
        Sodium.ensureInitialized()
        guard point.count == pointBytes else { return false }
        let valid = point.withBytePointer { p in crypto_core_ristretto255_is_valid_point(p) } == 1
        return valid && !ConstantTime.equal(point, [UInt8](repeating: 0, count: pointBytes))
    }
}
