internal import CSodium

/// A 32-byte symmetric secret: a secretstream, secretbox, HMAC or KDF key, or a ristretto255
/// scalar. The bytes live in storage wiped with `sodium_memzero` when the last copy goes away,
/// equality is constant-time (`sodium_memcmp`), and printing never shows them.
public struct SecretKey: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The length of every `SecretKey`.
    public static let byteCount = 32

    let storage: SecretBytes

    /// Wraps 32 secret bytes (copied).
    public init(bytes: [UInt8]) throws(SodiumError) {
        guard bytes.count == Self.byteCount else {
            throw .invalidKeyLength(expected: Self.byteCount, actual: bytes.count)
        }
        storage = SecretBytes(copying: bytes)
    }

    /// Wraps storage that already holds exactly 32 bytes.
    init(storage: SecretBytes) {
        self.storage = storage
    }

    /// Generates a random key (`randombytes_buf`).
    package static func random() -> SecretKey {
        Sodium.ensureInitialized()
        return SecretKey(storage: SecretBytes(count: byteCount) { pointer in
            randombytes_buf(pointer, byteCount)
            return 0
        })
    }

    /// A copy of the key bytes. Only for the key schedule and persistence: never log it.
    public var bytes: [UInt8] { storage.array }

    /// Constant-time comparison (`sodium_memcmp`).
    public static func == (lhs: SecretKey, rhs: SecretKey) -> Bool {
        lhs.storage.isEqual(to: rhs.storage)
    }

    public var description: String { "SecretKey(redacted)" }
    public var debugDescription: String { "SecretKey(redacted)" }
    public var customMirror: Mirror { Mirror(self, children: [:]) }

    /// Runs `body` with a pointer to the 32 key bytes.
    func withUnsafePointer<R>(_ body: (UnsafePointer<UInt8>) -> R) -> R {
        storage.withUnsafePointer(body)
    }
}
