import Foundation
import Testing
@testable import PeershareAgent
import PeershareDiscovery
import SodiumKit

/// The `peers` table: aligned columns, escaped names, and an age that means something.
@Suite("peers table")
struct PeerListingTests {
    static func info(_ name: String, _ byte: UInt8, addresses: [String], listedFor seconds: TimeInterval, now: Date) -> PeerInfo {
        let peer = DiscoveredPeer(name: name, publicKeyHex: Hex.encode([UInt8](repeating: byte, count: 32)), protocolVersion: "1",
                                  port: 53317, addresses: addresses, instanceNames: [name],
                                  firstSeen: now.addingTimeInterval(-seconds), lastSeen: now.addingTimeInterval(-seconds))
        return PeerInfo(peer, pins: [])
    }

    @Test("every column starts at the same offset on every line, measured on the escaped names")
    func aligned() throws {
        let now = Date()
        let peers = [Self.info("a", 1, addresses: ["10.0.0.2"], listedFor: 5, now: now),
                     Self.info("long name\u{1B}[31m", 2, addresses: ["10.0.0.3", "fe80::1%veth0"], listedFor: 249, now: now),
                     Self.info("mid", 3, addresses: ["10.0.0.44"], listedFor: 4000, now: now)]
        let lines = PeerListing.lines(peers, now: now)
        #expect(lines.count == 4)
        #expect(!lines.joined().contains("\u{1B}"), "names must be escaped")
        // The header's column offsets match where each row's cells begin.
        let header = lines[0]
        for column in ["FINGERPRINT", "PORT", "PAIRED", "LISTED"] {
            let range = try #require(header.range(of: column))
            let offset = header.distance(from: header.startIndex, to: range.lowerBound)
            for line in lines.dropFirst() {
                let index = try #require(line.index(line.startIndex, offsetBy: offset, limitedBy: line.endIndex))
                #expect(line[line.index(before: index)] == " " && line[index] != " ", "column \(column) misaligned in:\n\(lines.joined(separator: "\n"))")
            }
        }
        #expect(lines.allSatisfy { !$0.hasSuffix(" ") })
    }

    @Test("the age is how long the peer has been listed, not a growing 'seen N s ago'")
    func ages() {
        #expect(PeerListing.age(5) == "5s")
        #expect(PeerListing.age(249) == "4m09s")
        #expect(PeerListing.age(4000) == "1h06m")
        #expect(PeerListing.age(-3) == "0s")
        let now = Date()
        let line = PeerListing.lines([Self.info("bob", 1, addresses: ["10.0.0.2"], listedFor: 249, now: now)], now: now)[1]
        #expect(line.hasSuffix("for 4m09s") && !line.contains("ago"), "\(line)")
    }
}
