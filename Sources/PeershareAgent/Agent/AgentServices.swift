import Foundation
import SodiumKit
import NIOPosix
import NIOCore
import ServiceLifecycle

/// The agent's TCP listener as a lifecycle service: cancelled on graceful shutdown, which
/// closes the listener and ends in-flight sessions cleanly (partial files are removed).
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

extension Agent {
    /// The status shown by `peershare status`.
    public func status(discovery: String) async -> AgentStatus {
        AgentStatus(
            name: options.name,
            fingerprint: fingerprint,
            publicKey: Hex.encode(identity.publicKey),
            port: boundPort,
            addresses: Self.interfaceAddresses(),
            inbox: options.inbox,
            discovery: discovery,
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
