import PeershareCore
import SodiumKit

/// What the receiver said it holds from this sender (HOLDING messages right after ACCEPT),
/// and the sender's decision per file: skip it, continue it, or send it whole.
struct SenderHoldings {
    var complete: Set<[UInt8]> = []
    var partial: [[UInt8]: (held: UInt64, hash: [UInt8])] = [:]

    var isEmpty: Bool { complete.isEmpty && partial.isEmpty }

    /// Reads HOLDING messages until the one flagged last; at most `WireLimits.maxEntries`
    /// records in all (the receiver has no more files than that to announce).
    static func receive(_ secure: SecureChannel) async throws(AgentError) -> SenderHoldings {
        var holdings = SenderHoldings()
        var count = 0
        while true {
            guard case .message(.holding(let last, let records), false) = try await secure.receive(waitingFor: "the receiver's resume state") else {
                throw AgentError(.protocolError, "Protocol error: the receiver did not say what it already holds after accepting.")
            }
            count += records.count
            if count > WireLimits.maxEntries {
                throw AgentError(.protocolError, "Protocol error: the receiver announced more than \(WireLimits.maxEntries) held files.")
            }
            for record in records {
                switch record.state {
                case .complete: holdings.complete.insert(record.key)
                case .partial: holdings.partial[record.key] = (record.heldBytes, record.prefixHash)
                }
            }
            if last { return holdings }
        }
    }

    /// The length of the prefix of `entry` the receiver says it holds unfinished: what
    /// `resumeOffset` is about to read and hash here (nil when nothing is to be checked).
    func prefixToCheck(for entry: Entry, sender: [UInt8]) -> UInt64? {
        guard entry.kind == .file, entry.size > 0, !partial.isEmpty else { return nil }
        let key = ResumeKeys.fileKey(sender: sender, entry: entry)
        guard !complete.contains(key), let held = partial[key], held.held <= entry.size else { return nil }
        return held.held
    }

    /// How many leading bytes of `entry` need not be sent: its size when the receiver holds
    /// it complete; the held length when the receiver holds a prefix whose hash equals the
    /// hash of the same prefix of `source` here; else 0. Only non-empty files.
    func resumeOffset(for entry: Entry, source: String, sender: [UInt8]) -> UInt64 {
        guard entry.kind == .file, entry.size > 0 else { return 0 }
        let key = ResumeKeys.fileKey(sender: sender, entry: entry)
        if complete.contains(key) { return entry.size }
        guard let held = partial[key], held.held <= entry.size,
              let mine = PrefixHash.compute(path: source, length: held.held),
              ConstantTime.equal(mine, held.hash) else { return 0 }
        return held.held
    }
}

/// What resume saved in one send.
struct ResumeCounters {
    var resumedBytes: UInt64 = 0
    var skippedFiles: UInt64 = 0
    var resumedFiles: UInt64 = 0
    /// File bytes sent as DATA in this session (holes and held bytes do not travel).
    var wireBytes: UInt64 = 0
}
