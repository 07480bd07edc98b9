import Foundation
import SodiumKit

/// A peer whose identity key this agent pinned after a successful pairing.
///
/// Later sessions with this key need no code. A known name that arrives with another key
/// is not this peer: it is a new, unpaired device.
public struct PinnedPeer: Codable, Sendable, Equatable {
    /// The Ed25519 identity key, lowercase hex.
    public var publicKey: String
    /// The display name it had when it was last seen (escaped before display); empty while
    /// it is not known (a receiver that refused this sender's first offer never said it).
    public var name: String
    public var firstSeen: Date
    public var lastSeen: Date
    /// `HOST:PORT` strings this side used to reach the peer, most recent first. A sender
    /// asks for a KNOWN session when the address it dials is one of them.
    public var addresses: [String]
    /// What this receiver does with this peer's offers (`peershare trust`); nil: the defaults.
    public var policy: PeerPolicy?

    public var keyBytes: [UInt8] { Hex.decode(publicKey) ?? [] }
    public var fingerprint: String { Fingerprint.full(of: keyBytes) }
    /// The name to show (not yet escaped): the pinned one, or a marker when none is known.
    public var shownName: String { name.isEmpty ? Self.unknownName : name }
    public static let unknownName = "(name not known yet)"

    public init(publicKey: [UInt8], name: String, seen: Date, addresses: [String]) {
        self.publicKey = Hex.encode(publicKey)
        self.name = name
        self.firstSeen = seen
        self.lastSeen = seen
        self.addresses = addresses
    }
}

extension PinnedPeer {
    /// The pin for `key` among `peers` (a list read once from the trust store).
    public static func pin(forKey key: [UInt8], in peers: [PinnedPeer]) -> PinnedPeer? {
        peers.first { ConstantTime.equal($0.keyBytes, key) }
    }
}
