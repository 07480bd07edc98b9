import Foundation
import Testing
@testable import PeershareAgent
@testable import PeershareDiscovery
import SodiumKit
@testable import PeershareTransfer

/// What `peers` shows for a peer is what `send --to` takes: two peers named "bob" are
/// listed as "bob (TAG)" with TAG the start of each fingerprint, and resolve that way.
@Suite("Peer names and --to")
struct PeerNamingTests {
    static let keyA = [UInt8](repeating: 0x11, count: 32)
    static let keyB = [UInt8](repeating: 0x22, count: 32)

    static func peer(_ name: String, _ key: [UInt8], host: String, instance: String? = nil) -> DiscoveredPeer {
        DiscoveredPeer(name: name, publicKeyHex: Hex.encode(key), protocolVersion: "1", port: 53317,
                       addresses: [host], instanceNames: [instance ?? name], lastSeen: Date())
    }

    static let twins = [peer("bob", keyA, host: "10.0.0.2"),
                        peer("bob", keyB, host: "10.0.0.3", instance: "bob (\(Fingerprint.tag(of: keyB)))")]

    @Test("two peers sharing a name are labelled with their fingerprint tags; a unique name stays plain")
    func labels() {
        let labels = PeerLabels.labels(Self.twins + [Self.peer("carol", [UInt8](repeating: 3, count: 32), host: "10.0.0.4")])
        #expect(labels == ["bob (\(Fingerprint.tag(of: Self.keyA)))", "bob (\(Fingerprint.tag(of: Self.keyB)))", "carol"])
    }

    @Test("each label, the fingerprint tag with or without dashes, and the advertised instance name resolve to one peer")
    func labelsResolve() throws {
        for key in [Self.keyA, Self.keyB] {
            let tag = Fingerprint.tag(of: key)
            for query in ["bob (\(tag))", "BOB (\(tag.uppercased()))", tag, tag.replacingOccurrences(of: "-", with: "")] {
                let target = try PeerResolver.resolve(query, peers: Self.twins)
                #expect(target.expectedKey == key, "\(query)")
            }
        }
    }

    @Test("the shared name alone is ambiguous, and the refusal lists the labels that resolve")
    func sharedNameIsAmbiguous() {
        #expect {
            try PeerResolver.resolve("bob", peers: Self.twins)
        } throws: { error in
            let message = (error as? AgentError)?.message ?? ""
            return message.contains("bob (\(Fingerprint.tag(of: Self.keyA)))") && message.contains("bob (\(Fingerprint.tag(of: Self.keyB)))")
        }
    }

    @Test("a prefix of the identity key that is not a fingerprint prefix matches nothing and says why")
    func keyPrefixIsNotFingerprint() {
        #expect(!Fingerprint.full(of: Self.keyB).hasPrefix("2222"), "the test needs a fingerprint that differs from the key")
        #expect {
            try PeerResolver.resolve("2222", peers: Self.twins)
        } throws: { error in
            ((error as? AgentError)?.message ?? "").contains("not of a fingerprint")
        }
    }
}
