import Foundation
import PeershareCore
import SodiumKit
import PeershareTransfer

/// The pinned peers, kept in `trusted.json` in the state directory.
///
/// The file is the single source of truth: every lookup reads it (it is small), and every
/// change takes an exclusive `flock` on `trusted.json.lock`, re-reads, changes and replaces
/// the file atomically. The agent and a stand-alone `send` can therefore share it safely.
public struct TrustStore: Sendable {
    public let path: String
    static let sizeLimit = 8 << 20

    public init(paths: StatePaths) {
        self.path = paths.trustFile
    }

    /// All pins, sorted by name.
    public func all() throws(AgentError) -> [PinnedPeer] {
        try load().sorted { $0.name.localizedStandardCompare($1.name) == .orderedAscending }
    }

    /// The pin for an identity key, if any (constant-time comparison of the keys).
    /// An unreadable or corrupt file is an error, never "not pinned": a caller that took it
    /// for "not pinned" would pair again and so could replace a pin without a word.
    public func pin(forKey key: [UInt8]) throws(AgentError) -> PinnedPeer? {
        PinnedPeer.pin(forKey: key, in: try load())
    }

    /// The pin last reached at `address` (`HOST:PORT`), if any; errors as `pin(forKey:)`.
    public func pin(forAddress address: String) throws(AgentError) -> PinnedPeer? {
        try load().filter { $0.addresses.contains(address) }.max { $0.lastSeen < $1.lastSeen }
    }

    /// Pins `key` (or refreshes its name, last-seen time and address). A nil or empty
    /// `name` keeps the name already pinned, or pins the key with no name: a sender pins
    /// right after pairing, before the receiver has said its name (only its ACCEPT carries
    /// it), and an address is no name.
    public func remember(key: [UInt8], name: String?, address: String?) throws(AgentError) {
        let name = name ?? ""
        try update { peers in
            let now = Date()
            if let index = peers.firstIndex(where: { ConstantTime.equal($0.keyBytes, key) }) {
                if !name.isEmpty { peers[index].name = name }
                peers[index].lastSeen = now
                if let address { Self.promote(address, in: &peers[index].addresses) }
            } else {
                peers.append(PinnedPeer(publicKey: key, name: name, seen: now, addresses: address.map { [$0] } ?? []))
            }
            // An address belongs to the peer that answered there last.
            if let address {
                for index in peers.indices where !ConstantTime.equal(peers[index].keyBytes, key) {
                    peers[index].addresses.removeAll { $0 == address }
                }
            }
        }
    }

    /// Removes the pin matching `query` (a fingerprint prefix, a full key, an exact name,
    /// or an address it was reached at); returns it. More than one match is an error listing them.
    @discardableResult
    public func forget(_ query: String) throws(AgentError) -> PinnedPeer {
        var removed: PinnedPeer?
        var failure: AgentError?
        try update { peers in
            switch Self.matchOne(query, in: peers) {
            case .success(let index): removed = peers.remove(at: index)
            case .failure(let error): failure = error
            }
        }
        if let failure { throw failure }
        guard let removed else { throw AgentError(.general, "Nothing was removed.") }
        return removed
    }

    /// The index of the one pin matching `query`; no match, or several (listed), is an error.
    static func matchOne(_ query: String, in peers: [PinnedPeer]) -> Result<Int, AgentError> {
        let matches = match(query, in: peers)
        if matches.isEmpty {
            return .failure(AgentError(.usage, "No paired peer matches '\(DisplayEscape.escape(query))'. See `peershare trusted`."))
        }
        guard matches.count == 1, let index = peers.firstIndex(where: { $0.publicKey == matches[0].publicKey }) else {
            let list = matches.map { "  \(DisplayEscape.escape($0.shownName))  \($0.fingerprint)" }.joined(separator: "\n")
            return .failure(AgentError(.usage, "'\(DisplayEscape.escape(query))' matches several paired peers; give more of the fingerprint:\n\(list)"))
        }
        return .success(index)
    }

    /// Pins whose name equals `query`, else those last reached at that `HOST:PORT`, else
    /// those whose fingerprint or key starts with it (4 hex digits at least).
    static func match(_ query: String, in peers: [PinnedPeer]) -> [PinnedPeer] {
        guard !query.isEmpty else { return [] }
        let normalized = Fingerprint.normalized(query)
        let byName = peers.filter { $0.name == query }
        if !byName.isEmpty { return byName }
        let byAddress = peers.filter { $0.addresses.contains(query) }
        if !byAddress.isEmpty { return byAddress }
        guard normalized.count >= 4 else { return [] }
        return peers.filter {
            Fingerprint.normalized($0.fingerprint).hasPrefix(normalized) || $0.publicKey.hasPrefix(normalized)
        }
    }

    static func promote(_ address: String, in list: inout [String]) {
        list.removeAll { $0 == address }
        list.insert(address, at: 0)
        if list.count > 8 { list.removeLast(list.count - 8) }
    }

    func load() throws(AgentError) -> [PinnedPeer] { try file.load() }

    func update(_ change: (inout [PinnedPeer]) -> Void) throws(AgentError) { try file.update(change) }

    private var file: LockedJSONFile<[PinnedPeer]> {
        LockedJSONFile(path: path, sizeLimit: Self.sizeLimit, empty: { [] },
                       repairHint: "Fix or remove it (removing it forgets every paired peer).")
    }
}

/// Sessions read and refresh pins through this store.
extension TrustStore: PinStore {}
