import Logging
import NIOCore
import PeershareCore
import SodiumKit

/// What a session needs from the agent that runs it, and nothing more: sessions never see
/// the agent itself, so the transfer module does not depend on the runtime that hosts it.
package struct SessionContext: Sendable {
    package var identity: SigningKeyPair
    package var trust: any PinStore
    /// Offers waiting for the person (incoming sessions only).
    package var offers: OfferBoard
    /// Caps on unauthenticated connections and failed pairings (incoming sessions only).
    package var admission: Admission
    package var events: EventSink
    package var options: SessionOptions
    package var logger: Logger
    /// Told each time a handshake proved a peer's key, and where (the agent's address book).
    package var proven: @Sendable (_ key: [UInt8], _ at: ProvenAt) -> Void = { _, _ in }
    /// Values the handshake would draw at random, fixed only to replay a session byte for
    /// byte in a test (every field nil in an agent: everything is drawn at random).
    package var draws = HandshakeDraws()

    package init(identity: SigningKeyPair, trust: any PinStore, offers: OfferBoard, admission: Admission,
                 events: @escaping EventSink, options: SessionOptions, logger: Logger) {
        self.identity = identity
        self.trust = trust
        self.offers = offers
        self.admission = admission
        self.events = events
        self.options = options
        self.logger = logger
    }
}

/// The agent's settings that sessions follow.
package struct SessionOptions: Sendable {
    /// The name this side gives the peer (in ACCEPT and the offer summary).
    package var name: String
    /// Ask the person before accepting an offer from a paired peer.
    package var askPaired: Bool
    package var timeouts: Timeouts
    /// The minimum progress of a streaming transfer, per `timeouts.progressWindow`.
    package var minimumProgressBytes: UInt64
    /// Bytes that must stay free in the inbox after an offer is written.
    package var reserveBytes: UInt64
    /// The inbox path with `{peer}` in it, when each peer gets its own folder (`PeerInbox`).
    package var inboxTemplate: String?

    package init(name: String, askPaired: Bool, timeouts: Timeouts, minimumProgressBytes: UInt64, reserveBytes: UInt64,
                 inboxTemplate: String? = nil) {
        self.inboxTemplate = inboxTemplate
        self.name = name
        self.askPaired = askPaired
        self.timeouts = timeouts
        self.minimumProgressBytes = minimumProgressBytes
        self.reserveBytes = reserveBytes
    }
}

/// Where a handshake proved a peer's key.
package enum ProvenAt: Sendable {
    /// This side dialled the address.
    case dialled(PeerAddress)
    /// The peer dialled this side from `remote` (its source port is not where it listens).
    case incoming(SocketAddress?)
}

/// The pinned peers, as sessions read and refresh them (the agent's trust store).
package protocol PinStore: Sendable {
    func all() throws(AgentError) -> [PinnedPeer]
    func pin(forKey key: [UInt8]) throws(AgentError) -> PinnedPeer?
    func pin(forAddress address: String) throws(AgentError) -> PinnedPeer?
    func remember(key: [UInt8], name: String?, address: String?) throws(AgentError)
}

/// Short random ids for transfers and offers.
package enum TransferID {
    /// 8 lowercase hex digits.
    package static func make() -> String { Hex.encode(Random.bytes(4)) }
}
