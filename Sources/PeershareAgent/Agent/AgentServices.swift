import Foundation
import SodiumKit
import NIOPosix
import NIOCore
import PeershareDiscovery
import ServiceLifecycle

/// The agent's TCP listener as a lifecycle service: cancelled on graceful shutdown, which
/// closes the listener and ends in-flight sessions cleanly (unfinished files are kept for a resume).
public struct ListenerService: Service {
    let agent: Agent
    let onBound: @Sendable (Int) -> Void

    public init(agent: Agent, onBound: @escaping @Sendable (Int) -> Void) {
        self.agent = agent
        self.onBound = onBound
    }

    public func run() async throws {
        let agent = self.agent
        let onBound = self.onBound
        try await cancelWhenGracefulShutdown {
            try await agent.serve(onBound: onBound)
        }
    }
}

/// The control socket as a lifecycle service.
public struct ControlService: Service {
    let server: ControlServer
    let onBound: @Sendable () -> Void

    public init(server: ControlServer, onBound: @escaping @Sendable () -> Void) {
        self.server = server
        self.onBound = onBound
    }

    public func run() async throws {
        let server = self.server
        let onBound = self.onBound
        try await cancelWhenGracefulShutdown {
            try await server.run(onBound: onBound)
        }
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
