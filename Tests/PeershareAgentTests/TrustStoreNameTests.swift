import Foundation
import Testing
@testable import PeershareAgent
@testable import PeershareTransfer

/// A pin made before the peer said its name has none, and gets it once the name is known.
@Suite("Trust store names")
struct TrustStoreNameTests {
    let key = [UInt8](repeating: 7, count: 32)

    func store() throws -> (TrustStore, String) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("trust-names-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        return (TrustStore(paths: StatePaths.resolve(home: root, environment: ["HOME": root])), root)
    }

    @Test("A nameless pin stays nameless, is named later, and keeps its name when a later refresh has none")
    func nameLearnedLater() throws {
        let (trust, root) = try store()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try trust.remember(key: key, name: nil, address: "10.199.0.3:53317")
        #expect(try trust.pin(forKey: key)?.name == "")
        #expect(try trust.pin(forKey: key)?.shownName == PinnedPeer.unknownName)
        try trust.remember(key: key, name: "carol", address: "10.199.0.3:53317")
        #expect(try trust.pin(forKey: key)?.name == "carol")
        try trust.remember(key: key, name: nil, address: "10.199.0.3:53317")
        #expect(try trust.pin(forKey: key)?.name == "carol")
    }

    @Test("`forget` takes an address the pin was reached at, or a fingerprint prefix; an empty query matches nothing")
    func forgetByAddressOrFingerprint() throws {
        let (trust, root) = try store()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try trust.remember(key: key, name: nil, address: "10.199.0.3:53317")
        #expect(TrustStore.match("", in: try trust.all()).isEmpty)
        #expect(try trust.forget("10.199.0.3:53317").name == "")
        try trust.remember(key: key, name: nil, address: "10.199.0.3:53317")
        let prefix = String(try #require(try trust.pin(forKey: key)).fingerprint.prefix(9))
        _ = try trust.forget(prefix)
        #expect(try trust.all().isEmpty)
    }
}
