import Foundation
import PeershareTransfer

/// One address where a paired peer proved its identity key in a handshake.
///
/// An address is a hint, never trust: a send to it still has to prove the pinned key.
public struct RememberedAddress: Codable, Sendable, Equatable {
    /// How the address was learned.
    public enum Way: String, Codable, Sendable {
        /// This side dialled `host:port` and the peer proved its key there.
        case dialled
        /// The peer dialled this side from `host`; its listening port is not known.
        case incoming
        /// Announced over mDNS with the paired peer's key: a hint until a handshake there
        /// proves the key (anyone can announce any key).
        case advertised
    }

    /// IPv4, or IPv6 with `%interface` for a link-local address (the scope it needs).
    public var host: String
    /// The peer's listening port; nil for an `incoming` address.
    public var port: Int?
    public var way: Way
    public var lastSeen: Date

    public init(host: String, port: Int?, way: Way, lastSeen: Date) {
        self.host = host
        self.port = port
        self.way = way
        self.lastSeen = lastSeen
    }

    /// `host:port` (brackets around IPv6), or the bare host when the port is not known.
    public var shown: String {
        guard let port else { return host }
        return PeerAddress(host: host, port: port).description
    }
}

/// The remembered addresses of one peer, most recent first: the pure rules of the address
/// book (no I/O), so that bounds, pruning and order are testable.
public struct AddressList: Sendable, Equatable {
    /// At most this many addresses per peer: a peer that moved through many DHCP leases
    /// keeps its latest ones, and a dial tries a handful, not hundreds.
    public static let limit = 8
    /// Addresses not proven for this long are dropped (a laptop's old hotel network).
    public static let maximumAge: TimeInterval = 90 * 24 * 3600
    /// Advertised (unproven) addresses kept at most, so that announcements, which anyone can
    /// make, never push out more than half of the addresses where the peer proved its key.
    public static let advertisedLimit = 4

    public private(set) var entries: [RememberedAddress]

    public init(_ entries: [RememberedAddress] = []) { self.entries = entries }

    /// Records that the peer proved its key at `address`, then sorts, prunes and bounds the
    /// list. An incoming connection from a host already known with its port refreshes that
    /// entry instead of adding a port-less one.
    public mutating func record(_ address: RememberedAddress, now: Date) {
        if address.way == .advertised, let index = entries.firstIndex(where: { $0.host == address.host && $0.port == address.port }) {
            // An announcement refreshes an announced address; a proven one stays as proven.
            if entries[index].way == .advertised { entries[index].lastSeen = address.lastSeen }
        } else if address.port == nil, let index = entries.firstIndex(where: { $0.host == address.host }) {
            entries[index].lastSeen = address.lastSeen
        } else {
            entries.removeAll { $0.host == address.host && ($0.port == address.port || $0.port == nil) }
            entries.append(address)
        }
        prune(now: now)
    }

    /// Drops `host:port` (another key answered there last).
    public mutating func remove(host: String, port: Int?) {
        entries.removeAll { $0.host == host && $0.port == port }
    }

    /// Most recent first; older than `maximumAge` dropped; at most `advertisedLimit`
    /// advertised ones, and at most `limit` in all.
    public mutating func prune(now: Date) {
        entries.removeAll { now.timeIntervalSince($0.lastSeen) > Self.maximumAge }
        entries.sort { $0.lastSeen > $1.lastSeen }
        let advertised = entries.indices.filter { entries[$0].way == .advertised }
        if advertised.count > Self.advertisedLimit {
            let dropped = Set(advertised.dropFirst(Self.advertisedLimit))
            entries = entries.indices.filter { !dropped.contains($0) }.map { entries[$0] }
        }
        if entries.count > Self.limit { entries.removeLast(entries.count - Self.limit) }
    }

    /// The addresses to dial, most recent first: a port-less (incoming) host is tried at the
    /// ports the peer was reached at, else at `defaultPort`.
    public func dialCandidates(defaultPort: Int) -> [PeerAddress] {
        let ports = entries.compactMap(\.port)
        var result: [PeerAddress] = []
        for entry in entries {
            let tried = entry.port.map { [$0] } ?? (ports.isEmpty ? [defaultPort] : ports)
            for port in tried {
                let address = PeerAddress(host: entry.host, port: port)
                if !result.contains(address) { result.append(address) }
            }
        }
        return result
    }
}
