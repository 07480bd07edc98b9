import PeershareCore
import PeershareDiscovery
import SodiumKit
import PeershareTransfer

/// Where a send goes: the addresses to try, in order, and the identity key that must answer
/// (nil for a bare `HOST:PORT`, where the pin for that address, if any, is checked).
public struct SendTarget: Sendable {
    public var addresses: [PeerAddress]
    public var expectedKey: [UInt8]?
    public var name: String?
    /// Report each file as it is done (a `file` event: sent, continued or skipped), for
    /// `send -v`; off otherwise, since a tree of many small files would flood the events.
    public var fileEvents = false
    /// Bytes a second for this send (`send --limit-rate`; 0: no limit); nil: the agent's `limit_rate`.
    public var limitRate: UInt64?
    /// The send is a text (`send --text`, `send -`): its one file may go as a TEXT message.
    public var sendsText = false
}

/// Turns what a person typed after `--to` into a target: `HOST:PORT`, a discovered name, a
/// name with its fingerprint tag as `peers` shows it ("bob (b029-4c1e)"), a unique prefix of
/// a name, or a fingerprint prefix (with or without dashes). An ambiguous or unknown PEER
/// is an error that lists the candidates. A paired peer that mDNS does not show is found by
/// its pinned name or fingerprint in `known`, at its remembered addresses.
public enum PeerResolver {
    public static func resolve(_ query: String, peers: [DiscoveredPeer], known: KnownPeers = .none) throws(AgentError) -> SendTarget {
        if let address = PeerAddress(parsing: query) {
            return SendTarget(addresses: [address], expectedKey: nil, name: nil)
        }
        let matches = candidates(query, in: peers)
        if matches.isEmpty, let target = try remembered(query, known: known) { return target }
        guard !matches.isEmpty else {
            let known = peers.isEmpty ? "No peers are visible right now." : "Visible peers: " + PeerLabels.labels(peers).map { DisplayEscape.escape($0) }.joined(separator: ", ") + "."
            if peers.contains(where: { $0.publicKeyHex.hasPrefix(Fingerprint.normalized(query)) }), Fingerprint.normalized(query).count >= 4 {
                throw AgentError(.usage, "'\(DisplayEscape.escape(query))' is the start of an identity key, not of a fingerprint. Give the name or the fingerprint that `peershare peers` shows. \(known)")
            }
            throw AgentError(.usage, "No peer named '\(DisplayEscape.escape(query))'. \(known) Use HOST:PORT to reach a peer directly.")
        }
        guard matches.count == 1 else {
            let labels = PeerLabels.labels(peers)
            let list = matches.map { peer in
                let fingerprint = Hex.decode(peer.publicKeyHex).map { Fingerprint.short(of: $0) } ?? "?"
                let label = peers.firstIndex(of: peer).map { labels[$0] } ?? peer.name
                return "  \(DisplayEscape.escape(label))  \(fingerprint)  \(peer.addresses.first ?? "")"
            }.joined(separator: "\n")
            throw AgentError(.usage, "'\(DisplayEscape.escape(query))' matches several peers; give a name as listed here or a fingerprint prefix instead:\n\(list)")
        }
        let peer = matches[0]
        guard let key = Hex.decode(peer.publicKeyHex), key.count == 32 else {
            throw AgentError(.protocolError, "The peer '\(DisplayEscape.escape(peer.name))' advertises no valid identity key.")
        }
        try checkNameClash(query, discovered: key, known: known)
        // Every endpoint announced with the key, then where it was reached before: the first
        // whose handshake proves the key wins.
        var addresses = peer.endpoints.map { PeerAddress(host: $0.host, port: Int($0.port)) }
        for address in known.addresses(forKey: key) where !addresses.contains(address) { addresses.append(address) }
        guard !addresses.isEmpty else {
            throw AgentError(.unreachable, "The peer '\(DisplayEscape.escape(peer.name))' has no address yet; try again in a moment.")
        }
        return SendTarget(addresses: addresses, expectedKey: key, name: peer.name)
    }
}

extension PeerResolver {
    /// The peers `query` names, trying in turn: the exact name, an exact instance name, a
    /// name with a fingerprint tag ("bob (b029-4c1e)"), a name prefix, a fingerprint prefix.
    /// A prefix of an identity key no longer matches: people see fingerprints, not keys.
    static func candidates(_ query: String, in peers: [DiscoveredPeer]) -> [DiscoveredPeer] {
        let lowered = query.lowercased()
        var matches = peers.filter { $0.name.lowercased() == lowered }
        if matches.isEmpty { matches = peers.filter { $0.instanceNames.contains { $0.lowercased() == lowered } } }
        if matches.isEmpty, let (name, tag) = PeerLabels.split(query) {
            matches = peers.filter { $0.name.lowercased() == name.lowercased() && fingerprintStarts($0, with: tag) }
        }
        if matches.isEmpty { matches = peers.filter { $0.name.lowercased().hasPrefix(lowered) } }
        let hex = Fingerprint.normalized(query)
        if matches.isEmpty, hex.count >= 4, hex.allSatisfy(\.isHexDigit) {
            matches = peers.filter { fingerprintStarts($0, with: hex) }
        }
        return matches
    }

    static func fingerprintStarts(_ peer: DiscoveredPeer, with hex: String) -> Bool {
        guard let key = Hex.decode(peer.publicKeyHex) else { return false }
        return Fingerprint.normalized(Fingerprint.full(of: key)).hasPrefix(Fingerprint.normalized(hex))
    }
}
