import Foundation
import Testing
@testable import PeershareDiscovery

/// The peer table under a flood and an impostor (issue 12, item 9): bounded records, peers
/// and endpoints per key, and every recent endpoint of a key kept, newest first.
@Suite("Peer table bounds and endpoints")
struct PeerTableBoundsTests {
    static let ownKey = String(repeating: "0f", count: 32)
    static let honestKey = String(repeating: "a1", count: 32)
    static let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    static func key(_ index: Int) -> String { String(format: "%064x", index + 1) }

    static func record(_ instance: String, key: String, host: String, port: UInt16, ifIndex: Int32 = 2) -> DiscoveryEvent {
        let address = DiscoveredAddress(host: host, interfaceIndex: ifIndex, interfaceName: "eth0", isIPv6: false)
        let service = DiscoveredService(instanceName: instance, hostName: "\(instance).local", port: port,
                                        txt: [TXTKeys.publicKey: key, TXTKeys.name: "peer", TXTKeys.version: "1"],
                                        addresses: [address])
        return .resolved(service, interfaceIndex: ifIndex, protocolIsIPv6: false)
    }

    @Test("A flood of 1,500 services: at most maxPeers listed, the rest counted; a listed one leaving lets a waiting one in")
    func floodIsCapped() {
        var table = PeerTable(ownKey: Self.ownKey)
        var appeared = 0
        for index in 0..<1500 {
            let changes = table.apply(Self.record("s\(index)", key: Self.key(index), host: "10.1.\(index / 250).\(index % 250)", port: 4000), at: Self.t0)
            appeared += changes.filter { if case .appeared = $0 { true } else { false } }.count
        }
        #expect(table.peers.count == PeerTable.maxPeers)
        #expect(appeared == PeerTable.maxPeers)
        #expect(table.hiddenPeers == PeerTable.maxRecords - PeerTable.maxPeers)
        guard let leaving = table.peers.first?.publicKeyHex,
              let index = (0..<1500).first(where: { Self.key($0) == leaving }) else {
            Issue.record("no listed peer")
            return
        }
        let instance = "s\(index)"
        let changes = table.apply(.removed(instanceName: instance, interfaceIndex: 2, protocolIsIPv6: false), at: Self.t0)
        #expect(changes.count == 2, "one left, one waiting peer appeared: \(changes)")
        #expect(table.peers.count == PeerTable.maxPeers)
        #expect(table.hiddenPeers == PeerTable.maxRecords - PeerTable.maxPeers - 1)
    }

    @Test("A key announced at a second address by another host keeps both, the newest first")
    func impostorDoesNotHideTheHonestAddress() {
        var table = PeerTable(ownKey: Self.ownKey)
        _ = table.apply(Self.record("honest", key: Self.honestKey, host: "10.0.0.2", port: 4000), at: Self.t0)
        _ = table.apply(Self.record("evil", key: Self.honestKey, host: "10.0.0.66", port: 4666), at: Self.t0 + 1)
        let peer = table.peers.first
        #expect(table.peers.count == 1)
        #expect(peer?.port == 4666)
        #expect(peer?.addresses == ["10.0.0.66"])
        #expect(peer?.endpoints == [PeerEndpoint(host: "10.0.0.66", port: 4666), PeerEndpoint(host: "10.0.0.2", port: 4000)])
    }

    @Test("An impostor overwriting the honest record (same instance name) does not erase the honest endpoint until it ages out")
    func overwrittenRecordIsRememberedThenPruned() {
        var table = PeerTable(ownKey: Self.ownKey)
        _ = table.apply(Self.record("honest", key: Self.honestKey, host: "10.0.0.2", port: 4000), at: Self.t0)
        _ = table.apply(Self.record("honest", key: Self.honestKey, host: "10.0.0.66", port: 4666), at: Self.t0 + 5)
        #expect(table.peers.first?.endpoints == [PeerEndpoint(host: "10.0.0.66", port: 4666), PeerEndpoint(host: "10.0.0.2", port: 4000)])
        // Re-announced after the honest endpoint's age ran out: only the live one is left.
        _ = table.apply(Self.record("honest", key: Self.honestKey, host: "10.0.0.66", port: 4666),
                        at: Self.t0 + PeerTable.maxEndpointAge + 10)
        #expect(table.peers.first?.endpoints == [PeerEndpoint(host: "10.0.0.66", port: 4666)])
    }

    @Test("At most maxEndpointsPerKey endpoints per key, the newest kept; a key that leaves forgets them")
    func endpointsPerKeyAreBounded() {
        var table = PeerTable(ownKey: Self.ownKey)
        for index in 0..<20 {
            _ = table.apply(Self.record("i\(index)", key: Self.honestKey, host: "10.0.1.\(index)", port: UInt16(5000 + index)),
                            at: Self.t0 + Double(index))
        }
        let endpoints = table.peers.first?.endpoints ?? []
        #expect(endpoints.count == PeerTable.maxEndpointsPerKey)
        #expect(endpoints.first == PeerEndpoint(host: "10.0.1.19", port: 5019))
        #expect(endpoints == (12..<20).reversed().map { PeerEndpoint(host: "10.0.1.\($0)", port: UInt16(5000 + $0)) })
        for index in 0..<20 {
            _ = table.apply(.removed(instanceName: "i\(index)", interfaceIndex: 2, protocolIsIPv6: false), at: Self.t0 + 30)
        }
        #expect(table.peers.isEmpty)
        _ = table.apply(Self.record("back", key: Self.honestKey, host: "10.0.2.1", port: 6000), at: Self.t0 + 31)
        #expect(table.peers.first?.endpoints == [PeerEndpoint(host: "10.0.2.1", port: 6000)])
    }
}
