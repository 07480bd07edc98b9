internal import CSodium

/// Cryptographically secure randomness from libsodium (`randombytes_*`, backed by getrandom(2)).
public enum Random {
    /// `count` random bytes (`randombytes_buf`). A negative count gives an empty array.
    public static func bytes(_ count: Int) -> [UInt8] {
        Sodium.ensureInitialized()
        guard count > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let base = buffer.baseAddress {
                randombytes_buf(base, count)
                initialized = count
            } else {
                initialized = 0
            }
        }
    }

    /// A uniformly distributed number in `0..<upperBound`, without modulo bias
    /// (`randombytes_uniform`). Returns 0 when `upperBound` is below 2.
    public static func uniform(_ upperBound: UInt32) -> UInt32 {
        Sodium.ensureInitialized()
        return randombytes_uniform(upperBound)
    }
}
