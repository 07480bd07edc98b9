import Foundation
import Logging
import PeershareCore
import PeershareDiscovery
import SodiumKit
import NIOConcurrencyHelpers
import PeershareTransfer

/// The agent's live table of peers found over mDNS, and the discovery back end that feeds it.
///
/// Discovery is only a hint: a peer here is a name, addresses and the identity key it
/// advertises. A send to it checks in the handshake that whoever answers holds that key.
public final class PeerDirectory: Sendable {
    /// Where discovery stands, as `status` shows it.
    private enum State: Equatable {
        case off
        case starting
        /// Published or working again, with the stack in use.
        case running(String)
        case unavailable(String)

        var description: String {
            switch self {
            case .off: "off"
            case .starting: "starting"
            case .running(let stack): stack
            case .unavailable(let why): "unavailable: \(why)"
            }
        }
    }

    /// The state and the stack in use (``DiscoveryStack`` raw value, from the back end's
    /// `.using` events), changed together.
    private struct Status {
        var state = State.off
        var stack = ""
    }

    private let table: NIOLockedValueBox<PeerTable>
    private let status = NIOLockedValueBox(Status())

    public init(ownKey: [UInt8]) {
        table = NIOLockedValueBox(PeerTable(ownKey: Hex.encode(ownKey)))
    }

    /// The peers seen now, sorted by name.
    public var peers: [DiscoveredPeer] { table.withLockedValue { $0.peers } }

    /// Peers announced but left out of ``peers`` because the table is full.
    public var hiddenPeers: Int { table.withLockedValue { $0.hiddenPeers } }

    /// What `status` shows: "off", "starting", "avahi-daemon", "embedded", or
    /// "unavailable: …".
    public var state: String { status.withLockedValue { $0.state.description } }

    /// Publishes `advert` and browses until cancelled, keeping the table current and
    /// reporting peers appearing and leaving (and discovery failing) as events.
    /// `announced` hears every peer that appears or changes (the agent's address book).
    public func run(backend: any DiscoveryBackend, advert: ServiceAdvert, hub: EventHub, logger: Logger,
                    announced: @escaping @Sendable (DiscoveredPeer) -> Void = { _ in }) async {
        status.withLockedValue { $0.state = .starting }
        let events = backend.start(advert: advert)
        await withTaskCancellationHandler {
            for await event in events {
                for change in apply(event, hub: hub, logger: logger) {
                    if case .appeared(let peer) = change { announced(peer) }
                    if case .updated(let peer) = change { announced(peer) }
                }
            }
        } onCancel: {
            Task { await backend.stop() }
        }
        await backend.stop()
    }

    /// Feeds one event (also used to gather peers for a short one-off browse); returns what
    /// changed in the table.
    @discardableResult
    func apply(_ event: DiscoveryEvent, hub: EventHub?, logger: Logger) -> [PeerChange] {
        switch event {
        case .using(let stack):
            let changed = status.withLockedValue { status in
                defer { status.stack = stack.rawValue }
                return status.stack != stack.rawValue
            }
            if changed {
                logger.info("discovery stack", metadata: ["mdns.stack": "\(stack.rawValue)"])
                hub?.publish(TransferEvent(.discovery(message: stack == .daemon
                    ? "Discovery: using the system's avahi-daemon."
                    : "Discovery: using the embedded mDNS stack (no avahi-daemon needed).")))
            }
        case .daemonUnavailable(let why):
            status.withLockedValue { $0.state = .unavailable(why) }
            hub?.publish(TransferEvent(.discovery(message: "Discovery is not working (\(why)). Peers can still be reached as HOST:PORT.")))
        case .daemonAvailable:
            // Said only after an outage; the first start needs no news.
            let (wasDown, stack) = status.withLockedValue { status in
                defer { status.state = .running(status.stack) }
                if case .unavailable = status.state { return (true, status.stack) }
                return (false, status.stack)
            }
            if wasDown {
                hub?.publish(TransferEvent(.discovery(message: "Discovery works again (\(stack)).")))
            }
        case .published(let name):
            let stack = status.withLockedValue { status in
                status.state = .running(status.stack)
                return status.stack
            }
            logger.info("published", metadata: ["mdns.instance": "\(name)", "mdns.stack": "\(stack)"])
        case .nameCollision(let newName):
            hub?.publish(TransferEvent(.discovery(message: "Another machine uses this name on the network; advertising as \"\(DisplayEscape.escape(newName))\".")))
        case .resolved, .removed:
            break
        }
        let changes = table.withLockedValue { $0.apply(event) }
        guard let hub else { return changes }
        for change in changes {
            switch change {
            case .appeared(let peer): hub.publish(TransferEvent(.peerAppeared(Self.seen(peer))))
            case .left(let peer): hub.publish(TransferEvent(.peerLeft(Self.seen(peer))))
            case .updated: break
            }
        }
        return changes
    }

    static func seen(_ peer: DiscoveredPeer) -> AgentEvent.PeerSeen {
        AgentEvent.PeerSeen(peer: peer.name, fingerprint: Hex.decode(peer.publicKeyHex).map { Fingerprint.full(of: $0) },
                            address: peer.addresses.first)
    }

    /// Browses for `seconds` without publishing (for `peers` and `send` when no agent runs),
    /// with the stack `mode` picks: in the auto mode, the daemon if it answers, else the
    /// embedded stack.
    public static func browseOnce(seconds: Double, ownKey: [UInt8], mode: DiscoveryMode, interfaces: [String],
                                  logger: Logger) async -> (peers: [DiscoveredPeer], problem: String?) {
        let directory = PeerDirectory(ownKey: ownKey)
        guard let backend = await DiscoveryChoice.oneOffBackend(for: mode, interfaces: InterfaceFilter(interfaces), logger: logger) else {
            return ([], "discovery is off (--discovery off, $PEERSHARE_DISCOVERY or the config file)")
        }
        let events = backend.start(advert: nil)
        let problem = NIOLockedValueBox<String?>(nil)
        let collector = Task {
            for await event in events {
                if case .daemonUnavailable(let why) = event { problem.withLockedValue { $0 = why } }
                directory.apply(event, hub: nil, logger: logger)
            }
        }
        try? await Task.sleep(for: .seconds(seconds))
        await backend.stop()
        collector.cancel()
        return (directory.peers, problem.withLockedValue { $0 })
    }
}

/// A discovered peer as `peers` shows it.
public struct PeerInfo: Codable, Sendable, Equatable {
    public var name: String
    public var fingerprint: String
    public var publicKey: String
    public var addresses: [String]
    public var port: UInt16
    /// Other `HOST:PORT`s announced with this key recently, which a send also tries (absent
    /// when there are none): a host re-announcing a paired peer's key shows up here.
    public var otherEndpoints: [String]?
    public var paired: Bool
    public var firstSeen: Date
    public var lastSeen: Date
    public var instanceNames: [String]
    /// How the peer is known: "mdns", "static" (configured address) or "remembered" (paired,
    /// at an address where it proved its key).
    public var source: String? = "mdns"
    /// Whether its last probe proved (or, for an unpaired static peer, got) an answer; absent
    /// for mDNS peers (listed while they announce) and when not probed yet.
    public var reachable: Bool?
    /// The last probe's time from dial to answer, in milliseconds.
    public var latencyMs: Int?
    /// What the last probe found, in words ("static, not paired", "refused", ...).
    public var note: String?

    /// A peer not found over mDNS (`PeerInfo+Reach.swift`).
    init(name: String, key: [UInt8], addresses: [String], port: UInt16, paired: Bool, seen: Date) {
        self.name = name
        publicKey = Hex.encode(key)
        fingerprint = key.isEmpty ? "" : Fingerprint.full(of: key)
        self.addresses = addresses
        self.port = port
        self.paired = paired
        firstSeen = seen
        lastSeen = seen
        instanceNames = []
    }

    /// `pins` is the trust store read once (`TrustStore.all()`), so that an unreadable one is
    /// an error for the whole listing rather than "not paired" for each peer.
    public init(_ peer: DiscoveredPeer, pins: [PinnedPeer]) {
        let key = Hex.decode(peer.publicKeyHex) ?? []
        name = peer.name
        publicKey = peer.publicKeyHex
        fingerprint = Fingerprint.full(of: key)
        addresses = peer.addresses
        port = peer.port
        let primary = Set(peer.addresses.map { PeerEndpoint(host: $0, port: peer.port) })
        let others = peer.endpoints.filter { !primary.contains($0) }
            .map { PeerAddress(host: $0.host, port: Int($0.port)).description }
        otherEndpoints = others.isEmpty ? nil : others
        paired = PinnedPeer.pin(forKey: key, in: pins) != nil
        firstSeen = peer.firstSeen
        lastSeen = peer.lastSeen
        instanceNames = peer.instanceNames
    }
}
