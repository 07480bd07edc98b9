// The live, merged view of who is on the LAN, built only from DiscoveryEvents
// (no I/O), so the agent's "peers" answer is testable without a network.

import Foundation

/// A peer: every record that carries the same identity key ("pk"), merged.
public struct DiscoveredPeer: Sendable, Equatable, Codable {
    /// TXT "name", or the instance name when the peer publishes none.
    public var name: String
    /// Lower-case hex of the identity key from TXT "pk".
    public var publicKeyHex: String
    /// TXT "v", empty when absent.
    public var protocolVersion: String
    public var port: UInt16
    /// Connect strings, IPv4 first, then routable IPv6, then link-local (with scope).
    public var addresses: [String]
    /// Every instance name under which this key is announced, sorted.
    public var instanceNames: [String]
    /// When this peer appeared in the table (kept across later re-resolves, reset when it
    /// leaves): how long discovery took, which `lastSeen` cannot tell.
    public var firstSeen: Date
    /// When a record of this peer was last resolved.
    public var lastSeen: Date

    public init(name: String, publicKeyHex: String, protocolVersion: String, port: UInt16,
                addresses: [String], instanceNames: [String], firstSeen: Date? = nil, lastSeen: Date) {
        self.name = name
        self.publicKeyHex = publicKeyHex
        self.protocolVersion = protocolVersion
        self.port = port
        self.addresses = addresses
        self.instanceNames = instanceNames
        self.firstSeen = firstSeen ?? lastSeen
        self.lastSeen = lastSeen
    }

    /// Equality that ignores the times: a re-resolve with the same data is not a change.
    func sameContent(as other: DiscoveredPeer) -> Bool {
        var copy = other
        copy.firstSeen = firstSeen
        copy.lastSeen = lastSeen
        return copy == self
    }
}

/// How the table changed after one event.
public enum PeerChange: Sendable {
    case appeared(DiscoveredPeer)
    case left(DiscoveredPeer)
    case updated(DiscoveredPeer)
}

/// The merged live table: records with the same TXT "pk" (identity key) merge into one peer with all addresses; our own key is excluded; a peer whose last record is removed disappears.
public struct PeerTable: Sendable {
    struct RecordKey: Hashable {
        var instanceName: String
        var interfaceIndex: Int32
        var isIPv6: Bool
    }

    struct Record {
        var service: DiscoveredService
        var publicKey: String?
        var sequence: UInt64
        var seenAt: Date
    }

    private let ownKey: String
    private var records: [RecordKey: Record] = [:]
    private var current: [String: DiscoveredPeer] = [:]
    private var sequence: UInt64 = 0

    /// `ownKey` is our identity key in hex; records carrying it are never listed.
    public init(ownKey: String) {
        self.ownKey = ownKey.lowercased()
    }

    /// Peers sorted by name, then key.
    public var peers: [DiscoveredPeer] {
        current.values.sorted { ($0.name, $0.publicKeyHex) < ($1.name, $1.publicKeyHex) }
    }

    public mutating func apply(_ event: DiscoveryEvent) -> [PeerChange] {
        apply(event, at: Date())
    }

    /// Like ``apply(_:)`` with an explicit clock, for tests.
    public mutating func apply(_ event: DiscoveryEvent, at now: Date) -> [PeerChange] {
        switch event {
        case .resolved(let service, let interfaceIndex, let isIPv6):
            let key = RecordKey(instanceName: service.instanceName, interfaceIndex: interfaceIndex, isIPv6: isIPv6)
            let previousKey = records[key]?.publicKey
            sequence += 1
            let publicKey = Self.normalizedKey(service.txt[TXTKeys.publicKey])
            records[key] = Record(service: service, publicKey: publicKey, sequence: sequence, seenAt: now)
            return recompute(Set([previousKey, publicKey].compactMap { $0 }))
        case .removed(let instanceName, let interfaceIndex, let isIPv6):
            let key = RecordKey(instanceName: instanceName, interfaceIndex: interfaceIndex, isIPv6: isIPv6)
            guard let removed = records.removeValue(forKey: key), let publicKey = removed.publicKey else { return [] }
            return recompute([publicKey])
        case .daemonUnavailable:
            // Without the daemon no removal will ever arrive: everything we hold is stale.
            // Browsing restarts on daemonAvailable and re-reports who is really there.
            records.removeAll()
            return recompute(Set(current.keys))
        case .daemonAvailable, .nameCollision, .published, .using:
            return []
        }
    }

    /// Identity keys are hex; anything else is not a peershare agent and is ignored.
    static func normalizedKey(_ raw: String?) -> String? {
        guard let raw, !raw.isEmpty, raw.count <= 256, raw.count % 2 == 0,
              raw.utf8.allSatisfy({ $0.isHexDigit }) else { return nil }
        return raw.lowercased()
    }

    private mutating func recompute(_ keys: Set<String>) -> [PeerChange] {
        var changes: [PeerChange] = []
        for publicKey in keys.sorted() where publicKey != ownKey {
            let merged = merge(publicKey)
            switch (current[publicKey], merged) {
            case (nil, nil):
                break
            case (let old?, nil):
                current[publicKey] = nil
                changes.append(.left(old))
            case (nil, let new?):
                current[publicKey] = new
                changes.append(.appeared(new))
            case (let old?, var new?):
                new.firstSeen = old.firstSeen
                current[publicKey] = new
                if !new.sameContent(as: old) { changes.append(.updated(new)) }
            }
        }
        return changes
    }

    /// Builds one peer from all records with this key. Name, version and port come from
    /// the most recently resolved record; addresses only from records with that port,
    /// so a stale record from before a restart cannot pair an old port with a new address.
    private func merge(_ publicKey: String) -> DiscoveredPeer? {
        let mine = records.values.filter { $0.publicKey == publicKey }
        guard let latest = mine.max(by: { $0.sequence < $1.sequence }) else { return nil }
        let service = latest.service
        let addresses = Set(mine.filter { $0.service.port == service.port }.flatMap(\.service.addresses))
        let ordered = addresses
            .map { (rank: AddressClass.rank($0), text: $0.connectString) }
            .sorted { ($0.rank, $0.text) < ($1.rank, $1.text) }
        var seen = Set<String>()
        let connectStrings = ordered.map(\.text).filter { seen.insert($0).inserted }
        let name = service.txt[TXTKeys.name].flatMap { $0.isEmpty ? nil : $0 } ?? service.instanceName
        return DiscoveredPeer(
            name: name,
            publicKeyHex: publicKey,
            protocolVersion: service.txt[TXTKeys.version] ?? "",
            port: service.port,
            addresses: connectStrings,
            instanceNames: Set(mine.map(\.service.instanceName)).sorted(),
            firstSeen: mine.map(\.seenAt).min(),
            lastSeen: mine.map(\.seenAt).max() ?? latest.seenAt
        )
    }
}

extension UInt8 {
    fileprivate var isHexDigit: Bool {
        (0x30...0x39).contains(self) || (0x41...0x46).contains(self) || (0x61...0x66).contains(self)
    }
}
