// Unit tests of the pure parts of PeershareDiscovery: TXT handling, address
// classification and the merged peer table. No Avahi, no network.

import Foundation
import Testing

@testable import PeershareDiscovery
import SodiumKit

private let keyA = String(repeating: "a1", count: 32)
private let keyB = String(repeating: "b2", count: 32)
private let ownKey = String(repeating: "0f", count: 32)
private let t0 = Date(timeIntervalSince1970: 1_700_000_000)

private func address(_ host: String, _ ifIndex: Int32 = 2, v6: Bool = false, ifName: String? = "veth0") -> DiscoveredAddress {
    DiscoveredAddress(host: host, interfaceIndex: ifIndex, interfaceName: ifName, isIPv6: v6)
}

private func resolved(_ instance: String, key: String?, name: String? = nil, port: UInt16 = 4000,
                      addresses: [DiscoveredAddress], ifIndex: Int32 = 2, v6: Bool = false) -> DiscoveryEvent {
    var txt = [TXTKeys.version: "1"]
    if let key { txt[TXTKeys.publicKey] = key }
    if let name { txt[TXTKeys.name] = name }
    let service = DiscoveredService(instanceName: instance, hostName: "\(instance).local", port: port,
                                    txt: txt, addresses: Set(addresses))
    return .resolved(service, interfaceIndex: ifIndex, protocolIsIPv6: v6)
}

private func kinds(_ changes: [PeerChange]) -> [String] {
    changes.map {
        switch $0 {
        case .appeared(let p): "appeared \(p.name)"
        case .left(let p): "left \(p.name)"
        case .updated(let p): "updated \(p.name)"
        }
    }
}

@Suite("Discovery TXT records")
struct DiscoveryTXTTests {
    @Test func decodesKeysCaseInsensitivelyFirstOccurrenceWins() {
        let entries = ["PK=abc", "pk=def", "name=Alice Smith", "flag", "=nokey", "v=1=2"].map { Array($0.utf8) }
        let txt = TXTRecord.decode(entries)
        #expect(txt == ["pk": "abc", "name": "Alice Smith", "flag": "", "v": "1=2"])
    }

    @Test func dropsValuesThatAreNotUTF8AndKeysThatAreNotPrintable() {
        let badValue: [UInt8] = Array("name=".utf8) + [0xff, 0xfe]
        let badKey: [UInt8] = [0x01] + Array("pk=x".utf8)
        #expect(TXTRecord.decode([badValue, badKey, Array("v=1".utf8)]) == ["v": "1"])
    }

    @Test func encodesSortedAndValid() throws {
        let pairs = try TXTRecord.encode(["v": "1", "pk": keyA, "name": "bob"])
        #expect(pairs.map(\.key) == ["name", "pk", "v"])
        #expect(pairs.map(\.value) == ["bob", keyA, "1"])
    }

    @Test(arguments: ["", "toolongkey", "a=b", "tab\t"])
    func rejectsInvalidKeys(_ key: String) {
        #expect(throws: TXTRecordError.invalidKey(key)) { try TXTRecord.encode([key: "x"]) }
    }

    @Test func rejectsEntriesOver255Bytes() {
        let value = String(repeating: "x", count: 253)
        #expect(throws: TXTRecordError.entryTooLong(key: "name", bytes: 258)) {
            try TXTRecord.encode(["name": value])
        }
        #expect((try? TXTRecord.encode(["n": String(repeating: "x", count: 253)])) != nil)
    }
}

@Suite("Discovered addresses")
struct DiscoveredAddressTests {
    @Test(arguments: [
        ("10.0.0.2", false, "veth0", false, "10.0.0.2"),
        ("169.254.3.4", false, "veth0", true, "169.254.3.4"),
        ("fe80::1", true, "veth0", true, "fe80::1%veth0"),
        ("FE80::abcd", true, nil, true, "FE80::abcd%7"),
        ("febf::1", true, "veth0", true, "febf::1%veth0"),
        ("fec0::1", true, "veth0", false, "fec0::1"),
        ("fd00::5", true, "veth0", false, "fd00::5"),
        ("2001:db8::1", true, "veth0", false, "2001:db8::1"),
    ] as [(String, Bool, String?, Bool, String)])
    func classifiesAndScopes(host: String, v6: Bool, ifName: String?, linkLocal: Bool, connect: String) {
        let a = DiscoveredAddress(host: host, interfaceIndex: 7, interfaceName: ifName, isIPv6: v6)
        #expect(a.isLinkLocal == linkLocal)
        #expect(a.connectString == connect)
    }
}

@Suite("Peer table")
struct PeerTableTests {
    @Test func mergesRecordsWithTheSameKeyAndOrdersAddresses() {
        var table = PeerTable(ownKey: ownKey)
        let first = table.apply(resolved("bob", key: keyB, name: "Bob",
                                         addresses: [address("fe80::2", v6: true)], v6: true), at: t0)
        #expect(kinds(first) == ["appeared Bob"])
        let second = table.apply(resolved("bob", key: keyB, name: "Bob", addresses: [address("10.0.0.2")]), at: t0)
        #expect(kinds(second) == ["updated Bob"])
        let third = table.apply(resolved("bob", key: keyB, name: "Bob", addresses: [address("fd00::2", 3, v6: true)],
                                         ifIndex: 3, v6: true), at: t0)
        #expect(kinds(third) == ["updated Bob"])
        #expect(table.peers.count == 1)
        let bob = table.peers[0]
        #expect(bob.addresses == ["10.0.0.2", "fd00::2", "fe80::2%veth0"])
        #expect(bob.publicKeyHex == keyB)
        #expect(bob.protocolVersion == "1")
        #expect(bob.instanceNames == ["bob"])
    }

    @Test func excludesOurOwnKeyWhateverItsCase() {
        var table = PeerTable(ownKey: ownKey.uppercased())
        #expect(table.apply(resolved("me", key: ownKey, addresses: [address("10.0.0.1")])).isEmpty)
        #expect(table.peers.isEmpty)
    }

    @Test func peerLeavesWithItsLastRecord() {
        var table = PeerTable(ownKey: ownKey)
        _ = table.apply(resolved("bob", key: keyB, name: "Bob", addresses: [address("10.0.0.2")]))
        _ = table.apply(resolved("bob", key: keyB, name: "Bob", addresses: [address("fe80::2", v6: true)], v6: true))
        let partial = table.apply(.removed(instanceName: "bob", interfaceIndex: 2, protocolIsIPv6: false))
        #expect(kinds(partial) == ["updated Bob"])
        #expect(table.peers.first?.addresses == ["fe80::2%veth0"])
        let last = table.apply(.removed(instanceName: "bob", interfaceIndex: 2, protocolIsIPv6: true))
        #expect(kinds(last) == ["left Bob"])
        #expect(table.peers.isEmpty)
        #expect(table.apply(.removed(instanceName: "bob", interfaceIndex: 2, protocolIsIPv6: true)).isEmpty)
    }

    @Test func sameDataAgainIsNotAChangeButRefreshesLastSeen() {
        var table = PeerTable(ownKey: ownKey)
        _ = table.apply(resolved("bob", key: keyB, addresses: [address("10.0.0.2")]), at: t0)
        let later = t0.addingTimeInterval(30)
        #expect(table.apply(resolved("bob", key: keyB, addresses: [address("10.0.0.2")]), at: later).isEmpty)
        #expect(table.peers.first?.lastSeen == later)
        #expect(table.peers.first?.firstSeen == t0)
        #expect(table.peers.first?.name == "bob")
    }

    @Test func firstSeenIsWhenThePeerAppearedAndResetsAfterItLeft() {
        var table = PeerTable(ownKey: ownKey)
        _ = table.apply(resolved("bob", key: keyB, addresses: [address("10.0.0.2")]), at: t0)
        let v6 = t0.addingTimeInterval(5)
        _ = table.apply(resolved("bob", key: keyB, addresses: [address("fe80::2", v6: true)], v6: true), at: v6)
        #expect(table.peers.first?.addresses.count == 2)
        #expect(table.peers.first?.firstSeen == t0)
        #expect(table.peers.first?.lastSeen == v6)
        _ = table.apply(.removed(instanceName: "bob", interfaceIndex: 2, protocolIsIPv6: false), at: v6)
        _ = table.apply(.removed(instanceName: "bob", interfaceIndex: 2, protocolIsIPv6: true), at: v6)
        #expect(table.peers.isEmpty)
        let back = t0.addingTimeInterval(60)
        _ = table.apply(resolved("bob", key: keyB, addresses: [address("10.0.0.2")]), at: back)
        #expect(table.peers.first?.firstSeen == back)
    }

    @Test func aRecordThatChangesItsKeyMovesToAnotherPeer() {
        var table = PeerTable(ownKey: ownKey)
        _ = table.apply(resolved("x", key: keyA, name: "X", addresses: [address("10.0.0.5")]))
        let changes = table.apply(resolved("x", key: keyB, name: "X", addresses: [address("10.0.0.5")]))
        #expect(Set(kinds(changes)) == ["left X", "appeared X"])
        #expect(table.peers.map(\.publicKeyHex) == [keyB])
    }

    @Test func sameNameDifferentKeysAreTwoPeers() {
        var table = PeerTable(ownKey: ownKey)
        _ = table.apply(resolved("twin", key: keyA, name: "twin", addresses: [address("10.0.0.2")]))
        _ = table.apply(resolved("twin #2", key: keyB, name: "twin", addresses: [address("10.0.0.3")]))
        #expect(table.peers.map(\.name) == ["twin", "twin"])
        #expect(Set(table.peers.map(\.publicKeyHex)) == [keyA, keyB])
    }

    @Test(arguments: [nil, "", "xyz", "abc", String(repeating: "g0", count: 32)] as [String?])
    func ignoresRecordsWithoutAValidKey(_ key: String?) {
        var table = PeerTable(ownKey: ownKey)
        #expect(table.apply(resolved("odd", key: key, addresses: [address("10.0.0.9")])).isEmpty)
        #expect(table.peers.isEmpty)
    }

    @Test func latestPortWinsAndStaleAddressesOfTheOldPortAreDropped() {
        var table = PeerTable(ownKey: ownKey)
        _ = table.apply(resolved("bob", key: keyB, port: 4000, addresses: [address("10.0.0.2")]))
        _ = table.apply(resolved("bob", key: keyB, port: 5000, addresses: [address("fe80::2", v6: true)], v6: true))
        #expect(table.peers.first?.port == 5000)
        #expect(table.peers.first?.addresses == ["fe80::2%veth0"])
    }

    @Test func losingTheDaemonEmptiesTheTable() {
        var table = PeerTable(ownKey: ownKey)
        _ = table.apply(resolved("a", key: keyA, name: "A", addresses: [address("10.0.0.2")]))
        _ = table.apply(resolved("b", key: keyB, name: "B", addresses: [address("10.0.0.3")]))
        let changes = table.apply(.daemonUnavailable("gone"))
        #expect(Set(kinds(changes)) == ["left A", "left B"])
        #expect(table.peers.isEmpty)
        #expect(table.apply(.daemonAvailable).isEmpty)
        #expect(table.apply(.published(instanceName: "me")).isEmpty)
        #expect(table.apply(.nameCollision(newName: "me #2")).isEmpty)
    }

    @Test func peersRoundTripThroughJSON() throws {
        var table = PeerTable(ownKey: ownKey)
        _ = table.apply(resolved("bob", key: keyB.uppercased(), name: "Bob", addresses: [address("10.0.0.2")]), at: t0)
        let peer = try #require(table.peers.first)
        #expect(peer.publicKeyHex == keyB)
        let decoded = try JSONDecoder().decode(DiscoveredPeer.self, from: JSONEncoder().encode(peer))
        #expect(decoded == peer)
    }
}

/// The first rename after a name collision is keyed by our identity, so two agents with the
/// same name cannot rename into each other again.
@Suite("Collision renames")
struct CollisionRenameTests {
    @Test("a keyed name carries the advert's fingerprint tag and fits in 63 bytes")
    func keyedName() {
        #expect(AvahiValues.keyedServiceName("twin", tag: "1A7E-A624") == "twin (1a7e-a624)")
        let long = String(repeating: "é", count: 40)
        let keyed = AvahiValues.keyedServiceName(long, tag: "0011-2233")
        #expect(keyed.map { $0.utf8.count <= 63 && $0.hasSuffix(" (0011-2233)") } == true)
        #expect(AvahiValues.keyedServiceName("twin", tag: "") == nil)
        #expect(AvahiValues.keyedServiceName("twin", tag: "x) (y") == nil)
        #expect(AvahiValues.keyedServiceName("twin", tag: nil) == nil)
    }

    @Test("the first rename appends the fingerprint's first two groups, not the key's first digits")
    func renameShowsFingerprint() {
        let key = [UInt8](repeating: 0x42, count: 32)
        let advert = ServiceAdvert(instanceName: "bob", port: 1, txt: [TXTKeys.publicKey: Hex.encode(key)],
                                   renameTag: Fingerprint.tag(of: key))
        let fingerprint = Fingerprint.full(of: key)
        #expect(AvahiValues.nextInstanceName(current: "bob", advert: advert) == "bob (\(fingerprint.prefix(9)))")
        #expect(!fingerprint.hasPrefix("4242"), "the test needs a fingerprint that differs from the key")
    }

    @Test("after a host name clash the embedded stack takes a name from its key, so machines sharing a name differ")
    func keyedHostName() {
        #expect(AvahiValues.keyedHostName(publicKey: "1A7EA624FF00") == "peershare-1a7ea624")
        #expect(AvahiValues.keyedHostName(publicKey: "abc") == nil)
        #expect(AvahiValues.keyedHostName(publicKey: "zz112233") == nil)
        #expect(AvahiValues.keyedHostName(publicKey: nil) == nil)
        // Two machines called "vm" that clash in the same instant move to different names.
        let first = AvahiValues.nextHostName(current: "vm", publicKey: "00112233aa")
        let second = AvahiValues.nextHostName(current: "vm", publicKey: "00112234aa")
        #expect(first == "peershare-00112233")
        #expect(second == "peershare-00112234")
        // Only if the keyed name itself clashes (a copied identity): Avahi's next name.
        #expect(AvahiValues.nextHostName(current: "peershare-00112233", publicKey: "00112233aa") == "peershare-00112233-2")
        #expect(AvahiValues.nextHostName(current: "vm", publicKey: nil) == "vm-2")
    }
}
