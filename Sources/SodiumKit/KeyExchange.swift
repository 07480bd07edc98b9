internal import CSodium

/// An ephemeral X25519 key pair for `crypto_kx` (one per session, for forward secrecy).
/// The secret half lives in storage wiped on release and is never printed.
public struct KXKeyPair: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Length of an X25519 public key.
    public static let publicKeyBytes = 32

    private let secret: SecretBytes
    /// The public key (32 bytes), sent to the peer.
    public let publicKey: [UInt8]

    /// Creates a fresh key pair (`crypto_kx_keypair`).
    public static func generate() -> KXKeyPair {
        Sodium.ensureInitialized()
        var publicKey = [UInt8](repeating: 0, count: publicKeyBytes)
        let secret = publicKey.withMutableBytePointer { pk in
            SecretBytes(count: 32) { sk in
                // Documented to always return 0.
                crypto_kx_keypair(pk, sk)
            }
        }
        return KXKeyPair(secret: secret, publicKey: publicKey)
    }

    /// The key pair of a given 32-byte X25519 secret key (public key = `crypto_scalarmult_base`).
    /// For known-answer tests (docs/vectors), where the ephemeral key must be fixed; sessions
    /// use `generate()`.
    package init(secretKey: [UInt8]) throws(SodiumError) {
        Sodium.ensureInitialized()
        guard secretKey.count == 32 else { throw .invalidInputLength(expected: 32, actual: secretKey.count) }
        let secret = SecretBytes(copying: secretKey)
        var publicKey = [UInt8](repeating: 0, count: Self.publicKeyBytes)
        let result = publicKey.withMutableBytePointer { pk in
            secret.withUnsafePointer { sk in crypto_scalarmult_base(pk, sk) }
        }
        guard result == 0 else { throw .keyExchangeFailed }
        self.init(secret: secret, publicKey: publicKey)
    }

    private init(secret: SecretBytes, publicKey: [UInt8]) {
        self.secret = secret
        self.publicKey = publicKey
    }

    /// The client's session keys (`crypto_kx_client_session_keys`): `receive` decrypts what the
    /// server sends (server→client), `transmit` encrypts what the client sends (client→server).
    /// Throws `keyExchangeFailed` when libsodium returns -1 (a low-order server key).
    package func clientSessionKeys(serverPublicKey: [UInt8]) throws(SodiumError) -> (receive: SecretKey, transmit: SecretKey) {
        try sessionKeys(peerPublicKey: serverPublicKey, asClient: true)
    }

    /// The server's session keys (`crypto_kx_server_session_keys`): `receive` decrypts what the
    /// client sends (client→server), `transmit` encrypts what the server sends (server→client).
    /// Throws `keyExchangeFailed` when libsodium returns -1 (a low-order client key).
    package func serverSessionKeys(clientPublicKey: [UInt8]) throws(SodiumError) -> (receive: SecretKey, transmit: SecretKey) {
        try sessionKeys(peerPublicKey: clientPublicKey, asClient: false)
    }

    private func sessionKeys(peerPublicKey: [UInt8], asClient: Bool) throws(SodiumError) -> (receive: SecretKey, transmit: SecretKey) {
        guard peerPublicKey.count == Self.publicKeyBytes else {
            throw .invalidInputLength(expected: Self.publicKeyBytes, actual: peerPublicKey.count)
        }
        // One libsodium call writes both keys: into a 64-byte scratch (rx || tx) that is wiped
        // when released, then copied into one wiped storage per key.
        let scratch = SecretBytes(count: 2 * SecretKey.byteCount) { keys in
            secret.withUnsafePointer { sk in
                publicKey.withBytePointer { pk in
                    peerPublicKey.withBytePointer { peer in
                        asClient
                            ? crypto_kx_client_session_keys(keys, keys + SecretKey.byteCount, pk, sk, peer)
                            : crypto_kx_server_session_keys(keys, keys + SecretKey.byteCount, pk, sk, peer)
                    }
                }
            }
        }
        guard scratch.fillResult == 0 else { throw .keyExchangeFailed }
        return scratch.withUnsafePointer { keys in
            (receive: SecretKey(storage: SecretBytes(copying: UnsafeBufferPointer(start: keys, count: SecretKey.byteCount))),
             transmit: SecretKey(storage: SecretBytes(copying: UnsafeBufferPointer(start: keys + SecretKey.byteCount, count: SecretKey.byteCount))))
        }
    }

    public var description: String { "KXKeyPair(public: \(Hex.encode(publicKey)), secret: redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
