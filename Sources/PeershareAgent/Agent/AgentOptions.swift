import PeershareDiscovery
import PeershareTransfer

/// How an agent runs. Filled from the command line (and later the config file).
public struct AgentOptions: Sendable {
    /// The name other people see (default: the host name).
    public var name: String
    /// Where received files go.
    public var inbox: String
    /// TCP port to listen on; 0 picks a free one.
    public var port: Int
    /// Address to bind: "::" listens on every interface, IPv4 and IPv6.
    public var bindHost: String = "::"
    /// Ask y/N before accepting an offer from a paired peer.
    public var askPaired = false
    /// Which mDNS stack publishes and browses (off: none).
    public var discovery = DiscoveryMode.off
    /// Interfaces mDNS may use (empty: all).
    public var discoveryInterfaces: [String] = []
    public var timeouts = Timeouts()
    /// Offers that may wait for a person at once (offer-flood cap; at most 2 per address,
    /// see `OfferBoard` for why a first contact cannot be crowded out).
    public var maxPendingOffers = 32
    /// The minimum progress of a streaming transfer: at least this many bytes per
    /// `timeouts.progressWindow` seconds, or the receiver stops it (a trickle never holds a
    /// transfer open forever).
    public var minimumProgressBytes: UInt64 = 16 << 10
    /// Connections that may be in the handshake at once (unauthenticated-connection cap).
    public var maxUnauthenticated = 32
    /// Bytes that must stay free in the inbox after an offer is written.
    public var reserveBytes: UInt64 = 16 << 20
    /// Bytes a second each send may use (`limit_rate`; 0: no limit); `send --limit-rate` sets it per send.
    public var limitRate: UInt64 = 0
    /// Bytes a second all sends of the agent share (`limit_rate_total`; 0: no limit).
    public var limitRateTotal: UInt64 = 0

    /// The receive hook's argv (empty: none) and how long it may run.
    public var onReceive: [String] = []
    public var onReceiveTimeout: Double = 60
    /// Desktop notifications, when a session bus offers them.
    public var notify = true
    /// Peers probed by address (`peers` in the config, `run --peer`).
    public var staticPeers: [StaticPeer] = []

    public static let defaultPort = 53_317

    public init(name: String, inbox: String, port: Int) {
        self.name = name
        self.inbox = inbox
        self.port = port
    }
}

extension AgentOptions {
    /// The settings sessions follow.
    var session: SessionOptions {
        SessionOptions(name: name, askPaired: askPaired, timeouts: timeouts,
                       minimumProgressBytes: minimumProgressBytes, reserveBytes: reserveBytes, inboxTemplate: inboxTemplate)
    }
}
