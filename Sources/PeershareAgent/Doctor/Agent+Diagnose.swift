import Foundation
import PeershareCore
import PeershareDiscovery
import PeershareTransfer
import SodiumKit

extension Agent {
    /// `doctor PEER`: every address PEER is known at (mDNS, static, remembered, or the
    /// HOST:PORT given) probed at once, each with its outcome.
    public func diagnose(_ query: String, discovered: [DiscoveredPeer]) async -> DoctorCheck {
        let target: SendTarget
        do {
            let known = try KnownPeers.read(trust: trust, book: addressBook, defaultPort: AgentOptions.defaultPort)
            target = try PeerResolver.resolve(query, peers: discovered, known: known)
        } catch {
            return DoctorCheck("peer", .problem, error.message)
        }
        let addresses = target.addresses
        let prober = Prober(context: sessionContext, group: group)
        let results = await withTaskGroup(of: (Int, ProbeResult).self) { group in
            for (index, address) in addresses.enumerated() { group.addTask { (index, await prober.probe(address)) } }
            var all: [(Int, ProbeResult)] = []
            for await result in group { all.append(result) }
            return all.sorted { $0.0 < $1.0 }.map(\.1)
        }
        let lines = results.map { "\($0.address): \(Self.describe($0, expected: target.expectedKey))" }
        let proven = results.contains { result in
            if case .paired(let key, _, _) = result.outcome { return target.expectedKey.map { ConstantTime.equal($0, key) } ?? true }
            if case .notPaired(let key) = result.outcome { return target.expectedKey.map { ConstantTime.equal($0, key) } ?? true }
            return false
        }
        let name = DisplayEscape.escape(target.name ?? query)
        return proven
            ? DoctorCheck("peer", .ok, "\(name) answers at one of its addresses at least.", details: lines)
            : DoctorCheck("peer", .problem, "\(name) does not answer \(addresses.count == 1 ? "at its address" : "at any of its \(addresses.count) addresses") with the expected key.", details: lines)
    }

    /// "fine, 3 ms", "refused", "timed out", "no route", "a different key (…)".
    static func describe(_ result: ProbeResult, expected: [UInt8]?) -> String {
        let ms = Int((result.seconds * 1000).rounded())
        switch result.outcome {
        case .paired(let key, _, let version):
            if let expected, !ConstantTime.equal(expected, key) { return "a different key (\(Fingerprint.short(of: key)))" }
            return "fine, paired, \(ms) ms (protocol \(version))"
        case .notPaired(let key):
            if let expected, !ConstantTime.equal(expected, key) { return "a different key (\(Fingerprint.short(of: key))), not the one announced" }
            return "answers, not paired (key \(Fingerprint.short(of: key))), \(ms) ms"
        case .differentKey(let pinned, let answered):
            return "a different key (\(Fingerprint.short(of: answered)), not the paired \(Fingerprint.short(of: pinned))): refused"
        case .failed(let error):
            let text = error.message.lowercased()
            if text.contains("connection refused") { return "refused (nothing listens there)" }
            if text.contains("timed out") { return "timed out" }
            if text.contains("no route") || text.contains("unreachable") { return "no route" }
            return error.message
        }
    }
}

extension PeerInfo {
    /// An mDNS peer as the running agent listed it, back as a discovered peer (for `doctor
    /// PEER`, which resolves names as `send` does).
    public var asDiscovered: DiscoveredPeer {
        var endpoints = addresses.map { PeerEndpoint(host: $0, port: port) }
        for other in otherEndpoints ?? [] {
            if let address = PeerAddress(parsing: other) { endpoints.append(PeerEndpoint(host: address.host, port: UInt16(clamping: address.port))) }
        }
        return DiscoveredPeer(name: name, publicKeyHex: publicKey, protocolVersion: "1", port: port, addresses: addresses,
                              instanceNames: instanceNames, firstSeen: firstSeen, lastSeen: lastSeen, endpoints: endpoints)
    }
}
