import Foundation
import SodiumKit
import NIOPosix
import NIOCore
import PeershareDiscovery
import ServiceLifecycle

/// A server (the peer listener, the control socket) as a lifecycle service: `serve` runs
/// until it is cancelled, which graceful shutdown does; the listener closes and sessions in
/// flight end cleanly (unfinished files are kept for a resume).
struct ServingService: Service {
    let serve: @Sendable () async throws -> Void

    func run() async throws {
        let serve = self.serve
        try await cancelWhenGracefulShutdown { try await serve() }
    }
}

/// mDNS: once the listener has its port, publishes `_peershare._tcp` (TXT: protocol
/// version, display name, full identity key) and browses for the agent's lifetime.
public struct DiscoveryService: Service {
    let agent: Agent
    let port: AsyncStream<Int>
    let backend: any DiscoveryBackend

    public init(agent: Agent, port: AsyncStream<Int>, backend: any DiscoveryBackend) {
        self.agent = agent
        self.port = port
        self.backend = backend
    }

    public func run() async throws {
        let agent = self.agent
        let port = self.port
        let backend = self.backend
        await cancelWhenGracefulShutdown {
            var ports = port.makeAsyncIterator()
            guard let bound = await ports.next() else { return }
            let advert = ServiceAdvert(
                instanceName: agent.options.name,
                port: UInt16(clamping: bound),
                txt: [
                    TXTKeys.version: "1",
                    TXTKeys.name: agent.options.name,
                    TXTKeys.publicKey: Hex.encode(agent.identity.publicKey),
                ],
                renameTag: Fingerprint.tag(of: agent.identity.publicKey))
            await agent.directory.run(backend: backend, advert: advert, hub: agent.hub, logger: agent.logger) { peer in
                agent.noteAnnounced(peer)
            }
        }
    }
}

extension Agent {
    /// The status shown by `peershare status`.
    public func status() async -> AgentStatus {
        AgentStatus(
            name: options.name,
            fingerprint: fingerprint,
            publicKey: Hex.encode(identity.publicKey),
            port: boundPort,
            addresses: ["::", "0.0.0.0"].contains(options.bindHost) ? Self.interfaceAddresses() : [options.bindHost],
            inbox: options.inbox,
            discovery: options.discovery == .off ? "off" : directory.state,
            discoveryMode: options.discovery.rawValue,
            pid: getpid(),
            transfers: hub.transfers,
            pendingOffers: await pendingOffers().count)
    }

    /// This machine's addresses other agents can reach (loopback left out unless it is all there is).
    static func interfaceAddresses() -> [String] {
        guard let devices = try? System.enumerateDevices() else { return [] }
        var result: [String] = []
        for device in devices {
            guard let address = device.address, let ip = address.ipAddress else { continue }
            let text: String
            if case .v6 = address, ip.lowercased().hasPrefix("fe80") {
                text = "\(ip)%\(device.name)"
            } else {
                text = ip
            }
            if !result.contains(text) { result.append(text) }
        }
        let nonLoopback = result.filter { $0 != "127.0.0.1" && $0 != "::1" }
        return nonLoopback.isEmpty ? result : nonLoopback
    }
}

/// Probes static peers and paired peers mDNS does not show, every minute (`ReachProbes`).
public struct ReachService: Service {
    let agent: Agent

    public init(agent: Agent) { self.agent = agent }

    public func run() async throws {
        let agent = self.agent
        await cancelWhenGracefulShutdown {
            await agent.probeReachLoop()
        }
    }
}
