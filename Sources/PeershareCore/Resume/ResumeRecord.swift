/// One file the receiver already holds from this sender, as announced in a HOLDING
/// message: either complete under its final name, or the first `heldBytes` of it in the
/// partial area. Files are named by their `ResumeKeys.fileKey`, never by path, so a
/// HOLDING message says nothing a sender could not compute itself.
public struct ResumeRecord: Sendable, Equatable {
    public enum State: UInt8, Sendable {
        /// Under its final name in the same destination, with the same size and time.
        case complete = 1
        /// The first `heldBytes` bytes are in the partial area.
        case partial = 2
    }

    public var state: State
    /// `ResumeKeys.fileKey`, 16 bytes.
    public var key: [UInt8]
    /// Partial only: bytes held, 1...2^62 (complete files: 0, the size is in the key).
    public var heldBytes: UInt64
    /// Partial only: `crypto_generichash(32)` of the held bytes (empty for complete files).
    public var prefixHash: [UInt8]

    public static let keyBytes = 16
    public static let prefixHashBytes = 32
    /// Records in one HOLDING message: 4096 × at most 60 bytes stays under the stream cap.
    public static let maxPerMessage = 4096

    public static func complete(key: [UInt8]) -> ResumeRecord {
        ResumeRecord(state: .complete, key: key, heldBytes: 0, prefixHash: [])
    }

    public static func partial(key: [UInt8], heldBytes: UInt64, prefixHash: [UInt8]) -> ResumeRecord {
        ResumeRecord(state: .partial, key: key, heldBytes: heldBytes, prefixHash: prefixHash)
    }

    public init(state: State, key: [UInt8], heldBytes: UInt64, prefixHash: [UInt8]) {
        self.state = state
        self.key = key
        self.heldBytes = heldBytes
        self.prefixHash = prefixHash
    }
}
