import Foundation
import PeershareTransfer
import SodiumKit

/// Where each paired peer was last reached: `addresses.json` in the state directory, keyed by
/// the peer's identity key (hex), changed under a lock like the trust store.
///
/// Every handshake that proves a peer's key records the address it was proven at, in either
/// direction. `--to NAME` dials these when mDNS does not see the peer (another subnet, a
/// network that drops multicast). An unreadable or corrupt file is an error, as for the trust
/// store: a send that silently lost its addresses would say "not found" for a reachable peer.
public struct AddressBook: Sendable {
    public let path: String
    static let sizeLimit = 4 << 20
    /// Peers kept at most (the trust store has no bound; this file must stay small).
    static let peerLimit = 1024

    public init(paths: StatePaths) {
        self.path = paths.stateDirectory + "/addresses.json"
    }

    /// The addresses of the peer with identity key `key`, most recent first.
    public func addresses(forKey key: [UInt8]) throws(AgentError) -> AddressList {
        AddressList(try file.load()[Hex.encode(key)] ?? [])
    }

    /// Every peer's addresses, by identity key (hex).
    public func all() throws(AgentError) -> [String: [RememberedAddress]] { try file.load() }

    /// Records that `key` was proven at `host` (`port`: where it listens, nil when it dialled
    /// this side), or announced there (`way` advertised). A proven address is dropped from
    /// every other peer: it belongs to whoever proved a key there last; an announcement takes
    /// nothing from anyone.
    public func record(key: [UInt8], host: String, port: Int?, way: RememberedAddress.Way, now: Date = Date()) throws(AgentError) {
        let hex = Hex.encode(key)
        try file.update { book in
            for other in book.keys where other != hex && port != nil && way != .advertised {
                var list = AddressList(book[other] ?? [])
                list.remove(host: host, port: port)
                book[other] = list.entries.isEmpty ? nil : list.entries
            }
            var list = AddressList(book[hex] ?? [])
            list.record(RememberedAddress(host: host, port: port, way: way, lastSeen: now), now: now)
            book[hex] = list.entries
            Self.bound(&book, now: now)
        }
    }

    /// Forgets a peer's addresses (with its pin).
    public func forget(key: [UInt8]) throws(AgentError) {
        let hex = Hex.encode(key)
        try file.update { $0[hex] = nil }
    }

    /// Prunes every list by age and keeps the `peerLimit` most recently seen peers.
    static func bound(_ book: inout [String: [RememberedAddress]], now: Date) {
        for key in Array(book.keys) {
            var list = AddressList(book[key] ?? [])
            list.prune(now: now)
            book[key] = list.entries.isEmpty ? nil : list.entries
        }
        guard book.count > peerLimit else { return }
        let newest = book.sorted { ($0.value.first?.lastSeen ?? .distantPast) > ($1.value.first?.lastSeen ?? .distantPast) }
        book = Dictionary(uniqueKeysWithValues: newest.prefix(peerLimit).map { ($0.key, $0.value) })
    }

    private var file: LockedJSONFile<[String: [RememberedAddress]]> {
        LockedJSONFile(path: path, sizeLimit: Self.sizeLimit, empty: { [:] },
                       repairHint: "Fix or remove it (removing it forgets where paired peers were last seen, not the pairings).")
    }
}
