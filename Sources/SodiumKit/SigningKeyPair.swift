internal import CSodium

/// An Ed25519 identity key pair (libsodium `crypto_sign_*`). The 64-byte secret key (seed followed
/// by the public key) lives in storage wiped on release and is never printed.
public struct SigningKeyPair: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Length of an Ed25519 public key.
    public static let publicKeyBytes = 32
    /// Length of libsodium's Ed25519 secret key (seed || public key).
    public static let secretKeyBytes = 64
    /// Length of a detached signature.
    public static let signatureBytes = 64

    private let secret: SecretBytes
    /// The Ed25519 public key (32 bytes): the identity others pin.
    public let publicKey: [UInt8]

    private init(secret: SecretBytes, publicKey: [UInt8]) {
        self.secret = secret
        self.publicKey = publicKey
    }

    /// Creates a fresh key pair (`crypto_sign_keypair`).
    public static func generate() -> SigningKeyPair {
        Sodium.ensureInitialized()
        var publicKey = [UInt8](repeating: 0, count: publicKeyBytes)
        let secret = publicKey.withMutableBytePointer { pk in
            SecretBytes(count: secretKeyBytes) { sk in
                // Documented to always return 0.
                crypto_sign_keypair(pk, sk)
            }
        }
        return SigningKeyPair(secret: secret, publicKey: publicKey)
    }

    /// The key pair of a 32-byte Ed25519 seed (`crypto_sign_seed_keypair`). For known-answer
    /// tests (docs/vectors), where the identity must be fixed; agents use `generate()`.
    package init(seed: [UInt8]) throws(SodiumError) {
        Sodium.ensureInitialized()
        guard seed.count == 32 else { throw .invalidSigningKey }
        var publicKey = [UInt8](repeating: 0, count: Self.publicKeyBytes)
        let secret = publicKey.withMutableBytePointer { pk in
            seed.withBytePointer { s in
                SecretBytes(count: Self.secretKeyBytes) { sk in crypto_sign_seed_keypair(pk, sk, s) }
            }
        }
        guard secret.fillResult == 0 else { throw .invalidSigningKey }
        self.init(secret: secret, publicKey: publicKey)
    }

    /// Restores a key pair from libsodium's 64-byte secret key (as written to the identity file).
    /// The public key is taken from the secret key (`crypto_sign_ed25519_sk_to_pk`) and checked
    /// against the one derived again from its seed (`crypto_sign_seed_keypair`), so a damaged file
    /// is reported instead of producing signatures nobody can verify.
    public init(secretKey: [UInt8]) throws(SodiumError) {
        Sodium.ensureInitialized()
        guard secretKey.count == Self.secretKeyBytes else { throw .invalidSigningKey }
        let secret = SecretBytes(copying: secretKey)
        var embedded = [UInt8](repeating: 0, count: Self.publicKeyBytes)
        var derived = [UInt8](repeating: 0, count: Self.publicKeyBytes)
        let consistent: Bool = secret.withUnsafePointer { sk in
            guard embedded.withMutableBytePointer({ crypto_sign_ed25519_sk_to_pk($0, sk) }) == 0 else {
                return false
            }
            // Re-derive from the seed (the first 32 bytes) into a scratch secret key.
            let scratch = SecretBytes(count: Self.secretKeyBytes) { scratchSK in
                derived.withMutableBytePointer { crypto_sign_seed_keypair($0, scratchSK, sk) }
            }
            return scratch.fillResult == 0 && ConstantTime.equal(embedded, derived)
        }
        guard consistent else { throw .invalidSigningKey }
        self.init(secret: secret, publicKey: embedded)
    }

    /// The 64-byte secret key, for writing the identity file (mode 0600) only. Never log it.
    public var secretKeyBytes: [UInt8] { secret.array }

    /// Signs `message` (`crypto_sign_detached`): a 64-byte signature.
    public func sign(_ message: [UInt8]) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: Self.signatureBytes)
        secret.withUnsafePointer { sk in
            signature.withMutableBytePointer { sig in
                message.withBytePointer { m in
                    // Documented to always return 0 for a well-formed secret key.
                    _ = crypto_sign_detached(sig, nil, m, UInt64(message.count), sk)
                }
            }
        }
        return signature
    }

    public var description: String {
        "SigningKeyPair(public: \(Fingerprint.short(of: publicKey)), secret: redacted)"
    }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

/// Ed25519 signature verification.
public enum Ed25519 {
    /// Whether `signature` is a valid signature of `message` by `publicKey`
    /// (`crypto_sign_verify_detached`, which also rejects small-order and non-canonical keys).
    /// Wrong lengths return false.
    public static func verify(signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool {
        Sodium.ensureInitialized()
        guard signature.count == SigningKeyPair.signatureBytes,
              publicKey.count == SigningKeyPair.publicKeyBytes else { return false }
        return signature.withBytePointer { sig in
            message.withBytePointer { m in
                publicKey.withBytePointer { pk in
                    crypto_sign_verify_detached(sig, m, UInt64(message.count), pk) == 0
                }
            }
        }
    }
}
