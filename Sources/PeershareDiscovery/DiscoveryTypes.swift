// The values that cross the discovery boundary. Nothing here touches Avahi, so
// the agent, its tests and any later back end share these types.

import Foundation
import Logging

/// What this agent announces on the LAN: one DNS-SD instance of the service type.
public struct ServiceAdvert: Sendable, Equatable {
    /// The DNS-SD instance name (at most 63 bytes of UTF-8). Avahi may rename it
    /// on a collision; the new name arrives as ``DiscoveryEvent/nameCollision(newName:)``.
    public var instanceName: String
    /// The TCP port the agent listens on.
    public var port: UInt16
    /// TXT record pairs; see ``TXTKeys`` for the keys peers read.
    public var txt: [String: String]
    /// What a rename after a collision appends in parentheses: the start of the agent's
    /// fingerprint ("b029-4c1e"), so the name shown is one a person can type after `--to`.
    public var renameTag: String?

    public init(instanceName: String, port: UInt16, txt: [String: String], renameTag: String? = nil) {
        self.instanceName = instanceName
        self.port = port
        self.txt = txt
        self.renameTag = renameTag
    }
}

/// One address of a discovered service, as the resolver reported it on one interface.
public struct DiscoveredAddress: Sendable, Hashable {
    /// The numeric address, "10.0.0.2" or "fe80::1", without a scope.
    public var host: String
    /// The local interface the record was seen on (the scope of a link-local address).
    public var interfaceIndex: Int32
    /// The local interface's name (`if_indextoname`), nil if it is already gone.
    public var interfaceName: String?
    public var isIPv6: Bool
    /// 169.254.0.0/16 or fe80::/10: only usable through `interfaceIndex`.
    public var isLinkLocal: Bool
    /// What to hand to a connect call: the host, with "%interface" appended for
    /// link-local IPv6 ("fe80::1%veth0"), because such an address means nothing
    /// without its scope.
    public var connectString: String

    /// Derives `isLinkLocal` and `connectString` from the host and its interface.
    public init(host: String, interfaceIndex: Int32, interfaceName: String?, isIPv6: Bool) {
        self.host = host
        self.interfaceIndex = interfaceIndex
        self.interfaceName = interfaceName
        self.isIPv6 = isIPv6
        self.isLinkLocal = AddressClass.isLinkLocal(host, isIPv6: isIPv6)
        if isIPv6 && isLinkLocal {
            connectString = "\(host)%\(interfaceName ?? String(interfaceIndex))"
        } else {
            connectString = host
        }
    }
}

/// One resolved DNS-SD instance as seen on one interface and protocol.
public struct DiscoveredService: Sendable, Equatable {
    public var instanceName: String
    /// The target host of the SRV record ("host-3.local").
    public var hostName: String
    public var port: UInt16
    /// TXT pairs with keys lower-cased; the first occurrence of a key wins (RFC 6763 §6.4).
    public var txt: [String: String]
    public var addresses: Set<DiscoveredAddress>

    public init(instanceName: String, hostName: String, port: UInt16, txt: [String: String], addresses: Set<DiscoveredAddress>) {
        self.instanceName = instanceName
        self.hostName = hostName
        self.port = port
        self.txt = txt
        self.addresses = addresses
    }
}

/// What a back end reports. Records are keyed by instance name, interface and protocol:
/// the same instance seen over IPv4 and IPv6 on two interfaces gives four records.
public enum DiscoveryEvent: Sendable {
    /// A record was resolved, or its SRV/TXT/address data changed.
    case resolved(DiscoveredService, interfaceIndex: Int32, protocolIsIPv6: Bool)
    /// A record went away (goodbye packet, cache expiry, or link down).
    case removed(instanceName: String, interfaceIndex: Int32, protocolIsIPv6: Bool)
    /// Discovery is not working; the message says why in plain words. Sent once per outage;
    /// every record seen so far is then stale.
    case daemonUnavailable(String)
    /// Discovery works (again): the advert is being published and browsing restarted.
    case daemonAvailable
    /// Our instance name was taken by someone else; we now publish under `newName`.
    case nameCollision(newName: String)
    /// Our advert is established on the network under this name.
    case published(instanceName: String)
    /// The stack that produces the events from now on (sent when a back end starts,
    /// and when the auto mode switches).
    case using(DiscoveryStack)
}

/// One interface for every discovery back end: the daemon's (``AvahiDaemonDiscovery``),
/// the embedded stack (``AvahiEmbeddedDiscovery``) and the switch between them
/// (``AutoDiscovery``). The agent never knows which one runs.
public protocol DiscoveryBackend: Sendable {
    /// Publishes `advert` (re-publishing after restarts, renaming on collisions) and browses `_peershare._tcp` on all (allowed) interfaces, IPv4 and IPv6, resolving every instance. Events flow until `stop()`.
    func start(advert: ServiceAdvert?) -> AsyncStream<DiscoveryEvent>
    func stop() async
}

/// A back end started to watch only (`start(advert: nil)`) that can become a full one
/// without restarting: the auto mode's daemon watcher.
public protocol PromotableDiscovery: DiscoveryBackend {
    /// Starts publishing `advert` and browsing; later events come on the stream `start`
    /// returned. False if that is not possible (stopped); then a new back end is needed.
    func promote(advert: ServiceAdvert?) -> Bool
}

/// The TXT keys peershare publishes and reads.
public enum TXTKeys {
    /// Protocol version of the agent.
    public static let version = "v"
    /// Human-readable agent name (may differ from the instance name after a rename).
    public static let name = "name"
    /// Hex of the agent's long-term public identity key: what identifies a peer.
    public static let publicKey = "pk"
}
