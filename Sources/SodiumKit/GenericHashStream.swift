internal import CSodium

/// BLAKE2b over data that arrives in pieces (`crypto_generichash_init/update/final`,
/// unkeyed): used for the prefix hash of a partly received file (resume), which may be
/// far too large to hold in memory at once.
public final class GenericHashStream {
    /// `crypto_generichash_statebytes()` bytes, 64-byte aligned (the state is an
    /// over-aligned C struct, which Swift sees only as an opaque pointer).
    private let state: UnsafeMutableRawPointer
    private let outputLength: Int

    /// Starts a hash with `outputLength` bytes of output (16...64).
    public init(outputLength: Int) throws(SodiumError) {
        Sodium.ensureInitialized()
        guard (Hash.genericMinimumLength...Hash.genericMaximumLength).contains(outputLength) else {
            throw .invalidHashLength(outputLength)
        }
        let state = UnsafeMutableRawPointer.allocate(byteCount: crypto_generichash_statebytes(), alignment: 64)
        let result = crypto_generichash_init(OpaquePointer(state), nil, 0, outputLength)
        if result != 0 {
            state.deallocate()
            throw .unexpectedFailure(function: "crypto_generichash_init", code: result)
        }
        self.state = state
        self.outputLength = outputLength
    }

    deinit {
        state.deallocate()
    }

    /// Adds `bytes` to the hash.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        _ = crypto_generichash_update(OpaquePointer(state), base.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count))
    }

    /// The digest. Call once, as the last use.
    public func finish() -> [UInt8] {
        var output = [UInt8](repeating: 0, count: outputLength)
        let length = outputLength
        let state = self.state
        _ = output.withUnsafeMutableBufferPointer { out -> Int32 in
            guard let base = out.baseAddress else { return -1 }
            return crypto_generichash_final(OpaquePointer(state), base, length)
        }
        return output
    }
}
