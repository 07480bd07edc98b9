import Foundation
import SodiumKit
import PeershareTransfer

/// The agent's long-term Ed25519 identity, created on first run and kept in
/// `identity.key` (mode 0600) in the state directory.
///
/// The file holds the 64-byte libsodium secret key as hex on one line. The key itself is
/// never logged; only its fingerprint is shown.
public enum IdentityStore {
    /// Loads the identity, creating it (and the state directory) if there is none yet.
    /// A file with the wrong mode, size or content is an error, never silently replaced.
    /// Two processes that start on a fresh home at once (two `send`s) get one identity:
    /// the file is created only where none exists, and the process that loses reads it.
    public static func loadOrCreate(paths: StatePaths) throws(AgentError) -> SigningKeyPair {
        try StatePaths.makeDirectory(paths.stateDirectory)
        if let existing = try load(paths) { return existing }
        let identity = SigningKeyPair.generate()
        let created = try AtomicFile.create(Array((Hex.encode(identity.secretKeyBytes) + "\n").utf8),
                                            at: paths.identityFile, mode: 0o600)
        if created { return identity }
        guard let other = try load(paths) else {
            throw AgentError(.io, "\(paths.identityFile) appeared and vanished while it was being created; try again.")
        }
        return other
    }

    /// The identity in the state directory, or nil when there is no file.
    private static func load(_ paths: StatePaths) throws(AgentError) -> SigningKeyPair? {
        if let (bytes, mode) = try AtomicFile.readWithMode(paths.identityFile, limit: 4096) {
            if mode & 0o077 != 0 {
                throw AgentError(.security, "\(paths.identityFile) is readable by other users (mode \(String(mode & 0o777, radix: 8))). Run: chmod 600 '\(paths.identityFile)'")
            }
            let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let secret = Hex.decode(text), secret.count == 64 else {
                throw AgentError(.io, "\(paths.identityFile) is not a peershare identity file (expected 128 hex digits). Move it away to create a new identity; paired peers will then need the code again.")
            }
            do {
                return try SigningKeyPair(secretKey: secret)
            } catch {
                throw AgentError(.io, "\(paths.identityFile) holds an invalid key: \(error)", underlying: error)
            }
        }
        return nil
    }
}
