import Foundation
import Logging
import PeershareDiscovery
import SodiumKit
import Testing
@testable import PeershareAgent
import PeershareTransfer

/// The address book: bounded per peer, pruned by age, most recent first, and never "empty"
/// when its file cannot be read.
@Suite("Address book")
struct AddressBookTests {
    let alice = [UInt8](repeating: 7, count: 32)
    let bob = [UInt8](repeating: 9, count: 32)
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    func book() throws -> (AddressBook, String) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("address-book-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        return (AddressBook(paths: StatePaths.resolve(home: root, environment: ["HOME": root])), root)
    }

    func dialled(_ host: String, _ port: Int = 53317, at seconds: TimeInterval) -> RememberedAddress {
        RememberedAddress(host: host, port: port, way: .dialled, lastSeen: start + seconds)
    }

    @Test("At most 8 addresses per peer: the oldest go first")
    func bounded() {
        var list = AddressList()
        for index in 0..<12 { list.record(dialled("10.0.0.\(index)", at: Double(index)), now: start + 20) }
        #expect(list.entries.count == AddressList.limit)
        #expect(list.entries.map(\.host) == (4..<12).reversed().map { "10.0.0.\($0)" })
    }

    @Test("Addresses older than 90 days are pruned; a renewed one moves to the front")
    func prunedAndOrdered() {
        var list = AddressList()
        list.record(dialled("10.0.0.1", at: 0), now: start)
        list.record(dialled("10.0.0.2", at: 10), now: start + 10)
        list.record(dialled("10.0.0.1", at: 20), now: start + 20)
        #expect(list.entries.map(\.host) == ["10.0.0.1", "10.0.0.2"])
        let later = start + AddressList.maximumAge + 15
        list.record(dialled("10.0.0.3", at: AddressList.maximumAge + 15), now: later)
        #expect(list.entries.map(\.host) == ["10.0.0.3", "10.0.0.1"])
    }

    @Test("An incoming host is dialled at the peer's known ports, or at the default port")
    func incomingHostsTakeKnownPorts() {
        var list = AddressList()
        list.record(RememberedAddress(host: "fe80::1%eth0", port: nil, way: .incoming, lastSeen: start + 5), now: start + 5)
        #expect(list.dialCandidates(defaultPort: 53317).map(\.description) == ["[fe80::1%eth0]:53317"])
        list.record(dialled("10.0.0.2", 4000, at: 1), now: start + 5)
        #expect(list.dialCandidates(defaultPort: 53317).map(\.description) == ["[fe80::1%eth0]:4000", "10.0.0.2:4000"])
        // Dialling that host later replaces the port-less entry.
        list.record(dialled("fe80::1%eth0", 4000, at: 6), now: start + 6)
        #expect(list.entries.count == 2)
        #expect(list.entries[0].port == 4000)
    }

    @Test("Stored per key; an address moves to the peer that proved a key there last; forget removes a peer")
    func storedPerKey() throws {
        let (book, root) = try book()
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(try book.addresses(forKey: alice).entries.isEmpty)
        try book.record(key: alice, host: "10.0.0.1", port: 53317, way: .dialled, now: start)
        try book.record(key: bob, host: "10.0.0.9", port: nil, way: .incoming, now: start + 1)
        try book.record(key: bob, host: "10.0.0.1", port: 53317, way: .dialled, now: start + 2)
        #expect(try book.addresses(forKey: alice).entries.isEmpty)
        #expect(try book.addresses(forKey: bob).entries.map(\.shown) == ["10.0.0.1:53317", "10.0.0.9"])
        try book.forget(key: bob)
        #expect(try book.all().isEmpty)
    }

    @Test("Announced addresses take at most half the places, never turn a proven address into a hint, and take nothing from another peer")
    func announcedAddressesStayHints() throws {
        var list = AddressList()
        for index in 0..<8 { list.record(dialled("10.0.0.\(index)", at: Double(index)), now: start + 100) }
        for index in 0..<6 {
            list.record(RememberedAddress(host: "10.9.0.\(index)", port: 53317, way: .advertised, lastSeen: start + 50 + Double(index)), now: start + 100)
        }
        #expect(list.entries.filter { $0.way == .advertised }.count == AddressList.advertisedLimit)
        #expect(list.entries.filter { $0.way == .dialled }.count == AddressList.limit - AddressList.advertisedLimit)
        list.record(RememberedAddress(host: "10.0.0.7", port: 53317, way: .advertised, lastSeen: start + 99), now: start + 100)
        #expect(list.entries.first { $0.host == "10.0.0.7" }?.way == .dialled)

        let (book, root) = try book()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try book.record(key: alice, host: "10.0.0.1", port: 53317, way: .dialled, now: start)
        try book.record(key: bob, host: "10.0.0.1", port: 53317, way: .advertised, now: start + 1)
        #expect(try book.addresses(forKey: alice).entries.map(\.shown) == ["10.0.0.1:53317"])
        #expect(try book.addresses(forKey: bob).entries.map(\.way) == [.advertised])
    }

    @Test("The agent records what a paired peer announces over mDNS, and nothing of an unpaired one")
    func announcementsOfPairedPeers() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("address-announce-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let agent = try Agent(paths: StatePaths.resolve(home: root), options: AgentOptions(name: "me", inbox: root + "/inbox", port: 0), logger: logger)
        try agent.trust.remember(key: alice, name: "alice", address: nil)
        for (key, host) in [(alice, "10.1.0.5"), (bob, "10.1.0.6")] {
            agent.noteAnnounced(DiscoveredPeer(name: "x", publicKeyHex: Hex.encode(key), protocolVersion: "1", port: 4000,
                                               addresses: [host], instanceNames: ["x"], lastSeen: start))
        }
        #expect(try agent.addressBook.addresses(forKey: alice).entries.map(\.shown) == ["10.1.0.5:4000"])
        #expect(try agent.addressBook.addresses(forKey: alice).entries.map(\.way) == [.advertised])
        #expect(try agent.addressBook.addresses(forKey: bob).entries.isEmpty)
    }

    @Test("A corrupt file is an error, never an empty book, and is not overwritten")
    func corruptFileFailsClosed() throws {
        let (book, root) = try book()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: (book.path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data("{ not json".utf8).write(to: URL(fileURLWithPath: book.path))
        #expect(throws: AgentError.self) { try book.addresses(forKey: alice) }
        #expect(throws: AgentError.self) { try book.record(key: alice, host: "10.0.0.1", port: 1, way: .dialled) }
        #expect(try String(contentsOfFile: book.path, encoding: .utf8) == "{ not json")
    }
}
