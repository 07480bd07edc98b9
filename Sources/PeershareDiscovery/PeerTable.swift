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
    /// Every address recently announced with this key, with its port, in the order a send
    /// tries them: `addresses` at `port` first, then the others, newest first (at most
    /// ``PeerTable/maxEndpointsPerKey``). Another host can announce any key, so the newest
    /// record is not necessarily the peer: the send tries each and keeps the one whose
    /// handshake proves the key.
    public var endpoints: [PeerEndpoint]

    public init(name: String, publicKeyHex: String, protocolVersion: String, port: UInt16,
                addresses: [String], instanceNames: [String], firstSeen: Date? = nil, lastSeen: Date,
                endpoints: [PeerEndpoint]? = nil) {
        self.name = name
        self.publicKeyHex = publicKeyHex
        self.protocolVersion = protocolVersion
        self.port = port
        self.addresses = addresses
        self.instanceNames = instanceNames
        self.firstSeen = firstSeen ?? lastSeen
        self.lastSeen = lastSeen
        self.endpoints = endpoints ?? addresses.map { PeerEndpoint(host: $0, port: port) }
    }

    /// Equality that ignores the times: a re-resolve with the same data is not a change.
    func sameContent(as other: DiscoveredPeer) -> Bool {
        var copy = other
        copy.firstSeen = firstSeen
        copy.lastSeen = lastSeen
        return copy == self
    }
}

/// One connect string and port at which a key was announced.
public struct PeerEndpoint: Sendable, Equatable, Hashable, Codable {
    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }
}

/// How the table changed after one event.
public enum PeerChange: Sendable {
    case appeared(DiscoveredPeer)
    case left(DiscoveredPeer)
    case updated(DiscoveredPeer)
}

/// The merged live table: records with the same TXT "pk" (identity key) merge into one peer with all addresses; our own key is excluded; a peer whose last record is removed disappears.
///
/// Bounded, since any host on the LAN can announce as many services as it likes: at most
/// ``maxRecords`` records (later new ones are ignored), at most ``maxPeers`` peers listed
/// (the others wait, counted in ``hiddenPeers``, until a listed one leaves), and at most
/// ``maxEndpointsPerKey`` endpoints per key, each kept for ``maxEndpointAge`` after its
/// record stops being announced.
public struct PeerTable: Sendable {
    public static let maxRecords = 1024
    public static let maxPeers = 512
    public static let maxEndpointsPerKey = 8
    public static let maxEndpointAge: TimeInterval = 600

    struct SeenEndpoint {
        var endpoint: PeerEndpoint
        var seenAt: Date
    }

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
    /// Per key, the endpoints announced with it, newest first (at most maxEndpointsPerKey).
    private var history: [String: [SeenEndpoint]] = [:]
    private var sequence: UInt64 = 0

    /// `ownKey` is our identity key in hex; records carrying it are never listed.
    public init(ownKey: String) {
        self.ownKey = ownKey.lowercased()
    }

    /// Peers sorted by name, then key.
    public var peers: [DiscoveredPeer] {
        current.values.sorted { ($0.name, $0.publicKeyHex) < ($1.name, $1.publicKeyHex) }
    }

    /// Peers announced but not listed because the table holds ``maxPeers`` already (at
    /// least this many: records beyond ``maxRecords`` are not even kept).
    public var hiddenPeers: Int {
        let keys = Set(records.values.compactMap(\.publicKey)).subtracting([ownKey])
        return keys.count - current.count
    }

    public mutating func apply(_ event: DiscoveryEvent) -> [PeerChange] {
        apply(event, at: Date())
    }

    /// Like ``apply(_:)`` with an explicit clock, for tests.
    public mutating func apply(_ event: DiscoveryEvent, at now: Date) -> [PeerChange] {
        switch event {
        case .resolved(let service, let interfaceIndex, let isIPv6):
            let key = RecordKey(instanceName: service.instanceName, interfaceIndex: interfaceIndex, isIPv6: isIPv6)
            guard records[key] != nil || records.count < Self.maxRecords else { return [] }
            let previousKey = records[key]?.publicKey
            sequence += 1
            let publicKey = Self.normalizedKey(service.txt[TXTKeys.publicKey])
            records[key] = Record(service: service, publicKey: publicKey, sequence: sequence, seenAt: now)
            if let publicKey { remember(service, for: publicKey, at: now) }
            return recompute(Set([previousKey, publicKey].compactMap { $0 }), at: now)
        case .removed(let instanceName, let interfaceIndex, let isIPv6):
            let key = RecordKey(instanceName: instanceName, interfaceIndex: interfaceIndex, isIPv6: isIPv6)
            guard let removed = records.removeValue(forKey: key), let publicKey = removed.publicKey else { return [] }
            return recompute([publicKey], at: now)
        case .daemonUnavailable:
            // Without the daemon no removal will ever arrive: everything we hold is stale.
            // Browsing restarts on daemonAvailable and re-reports who is really there.
            records.removeAll()
            return recompute(Set(current.keys), at: now)
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

    /// Records that `service` announced `publicKey`: its endpoints move to the front of the
    /// key's history, which keeps the newest ``maxEndpointsPerKey``.
    private mutating func remember(_ service: DiscoveredService, for publicKey: String, at now: Date) {
        let fresh = service.addresses.map { SeenEndpoint(endpoint: PeerEndpoint(host: $0.connectString, port: service.port), seenAt: now) }
        let announced = Set(fresh.map(\.endpoint))
        let older = (history[publicKey] ?? []).filter { !announced.contains($0.endpoint) }
        history[publicKey] = Array((fresh + older).prefix(Self.maxEndpointsPerKey))
    }

    private mutating func recompute(_ keys: Set<String>, at now: Date) -> [PeerChange] {
        var changes: [PeerChange] = []
        for publicKey in keys.sorted() where publicKey != ownKey {
            let merged = merge(publicKey, at: now)
            if merged == nil { history[publicKey] = nil }
            switch (current[publicKey], merged) {
            case (nil, nil):
                break
            case (let old?, nil):
                current[publicKey] = nil
                changes.append(.left(old))
            case (nil, let new?):
                guard current.count < Self.maxPeers else { break }
                current[publicKey] = new
                changes.append(.appeared(new))
            case (let old?, var new?):
                new.firstSeen = old.firstSeen
                current[publicKey] = new
                if !new.sameContent(as: old) { changes.append(.updated(new)) }
            }
        }
        if changes.contains(where: { if case .left = $0 { true } else { false } }) {
            changes += admitWaiting(at: now)
        }
        return changes
    }

    /// Lists peers that waited for room, once listed ones have left.
    private mutating func admitWaiting(at now: Date) -> [PeerChange] {
        guard current.count < Self.maxPeers else { return [] }
        let waiting = Set(records.values.compactMap(\.publicKey)).subtracting(current.keys).subtracting([ownKey])
        guard !waiting.isEmpty else { return [] }
        return recompute(waiting, at: now)
    }

    /// Builds one peer from all records with this key. Name, version and port come from
    /// the most recently resolved record; addresses only from records with that port,
    /// so a stale record from before a restart cannot pair an old port with a new address.
    private func merge(_ publicKey: String, at now: Date) -> DiscoveredPeer? {
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
            lastSeen: mine.map(\.seenAt).max() ?? latest.seenAt,
            endpoints: endpoints(publicKey, primary: connectStrings, port: service.port, live: mine, at: now)
        )
    }

    /// The endpoints a send tries for `publicKey`: the primary addresses at the newest
    /// record's port, then every other endpoint that a live record announces or that was
    /// announced within ``maxEndpointAge``, newest first; at most ``maxEndpointsPerKey``.
    private func endpoints(_ publicKey: String, primary: [String], port: UInt16, live: [Record], at now: Date) -> [PeerEndpoint] {
        let announced = Set(live.flatMap { record in
            record.service.addresses.map { PeerEndpoint(host: $0.connectString, port: record.service.port) }
        })
        let recent = (history[publicKey] ?? [])
            .filter { announced.contains($0.endpoint) || now.timeIntervalSince($0.seenAt) <= Self.maxEndpointAge }
            .map(\.endpoint)
        var seen = Set<PeerEndpoint>()
        let all = primary.map { PeerEndpoint(host: $0, port: port) } + recent
        return Array(all.filter { seen.insert($0).inserted }.prefix(Self.maxEndpointsPerKey))
    }
}

extension UInt8 {
    fileprivate var isHexDigit: Bool {
        (0x30...0x39).contains(self) || (0x41...0x46).contains(self) || (0x61...0x66).contains(self)
    }
}
