import Foundation
import PeershareCore
import PeershareTransfer
import SodiumKit

extension PeerInfo {
    /// A peer reached by address, as its last probe found it. A static peer whose key is not
    /// pinned is listed as "static, not paired": its key is only a claim until it is paired.
    init(_ entry: ReachProbes.Entry, known: KnownPeers) {
        let key = entry.key ?? []
        let pin = key.isEmpty ? nil : PinnedPeer.pin(forKey: key, in: known.pins)
        let latest = AddressList(known.book[Hex.encode(key)] ?? []).entries.first
        let address = entry.result?.address ?? entry.configured?.address
        var name = pin?.name ?? ""
        var reachable: Bool?
        var note: String
        switch entry.result?.outcome {
        case .paired(_, let said, let version):
            name = said ?? name
            reachable = true
            note = "\(entry.source.rawValue), paired, reachable (protocol \(version))"
        case .notPaired(let claimed):
            reachable = true
            note = "static, not paired (it answers with key \(Fingerprint.short(of: claimed)); send to it once to pair)"
        case .differentKey(let pinned, let answered):
            reachable = false
            note = "\(entry.source.rawValue): another key answered (\(Fingerprint.short(of: answered)), not the paired \(Fingerprint.short(of: pinned))): refused"
        case .failed(let error):
            reachable = false
            note = "\(entry.source.rawValue), not reachable now: \(error.message)"
        case nil:
            note = "\(entry.source.rawValue), not probed yet"
        }
        if reachable == false, let latest {
            note += "; last seen \(ISO8601DateFormatter().string(from: latest.lastSeen)) at \(latest.shown)"
        }
        self.init(name: name.isEmpty ? (address?.description ?? "?") : name, key: key,
                  addresses: [address?.host ?? latest?.host ?? ""], port: UInt16(clamping: address?.port ?? latest?.port ?? 0),
                  paired: pin != nil, seen: entry.probedAt ?? latest?.lastSeen ?? pin?.lastSeen ?? Date())
        source = entry.source.rawValue
        self.reachable = reachable
        if reachable == true, let seconds = entry.result?.seconds { latencyMs = Int((seconds * 1000).rounded()) }
        self.note = note
    }

    /// Paired peers that neither mDNS nor a probe shows (a `peers` run without an agent, which
    /// probes nothing): listed with where and when they were last seen, never hidden.
    static func remembered(known: KnownPeers, excluding shown: Set<String>, why: String) -> [PeerInfo] {
        known.pins.filter { !shown.contains($0.publicKey) }.map { pin in
            let latest = AddressList(known.book[pin.publicKey] ?? []).entries.first
            var info = PeerInfo(name: pin.shownName, key: pin.keyBytes, addresses: latest.map { [$0.host] } ?? [],
                                port: UInt16(clamping: latest?.port ?? 0), paired: true, seen: latest?.lastSeen ?? pin.lastSeen)
            info.source = "remembered"
            info.note = "remembered, not checked (\(why)); last seen \(ISO8601DateFormatter().string(from: info.lastSeen))"
                + (latest.map { " at \($0.shown)" } ?? "")
            return info
        }
    }
}

extension Agent {
    /// The peers `peers` lists besides mDNS ones: each static peer and each paired peer mDNS
    /// does not show, as its last probe found it; a paired peer with no address to probe is
    /// listed too, with when it was last seen.
    public func reachListing() throws(AgentError) -> [PeerInfo] {
        let known = try KnownPeers.read(trust: trust, book: addressBook, defaultPort: AgentOptions.defaultPort)
        let visible = Set(directory.peers.map(\.publicKeyHex))
        let probed = reach.all.filter { entry in entry.key.map { !visible.contains(Hex.encode($0)) } ?? true }
        let listed = visible.union(probed.compactMap { $0.key.map(Hex.encode) })
        return probed.map { PeerInfo($0, known: known) }
            + PeerInfo.remembered(known: known, excluding: listed, why: "no address where it proved its key is remembered")
    }

    /// Without an agent: paired peers mDNS did not show in the short browse, unprobed.
    public static func rememberedListing(paths: StatePaths, excluding shown: Set<String>) throws(AgentError) -> [PeerInfo] {
        let known = try KnownPeers.read(trust: TrustStore(paths: paths), book: AddressBook(paths: paths), defaultPort: AgentOptions.defaultPort)
        return PeerInfo.remembered(known: known, excluding: shown, why: "no agent is running to probe it")
    }
}
