import Logging
import PeershareTransfer
import ServiceLifecycle

/// The running agent and everything around it, composed in one place: the peer listener,
/// the control socket, the history, the receive hook, notifications and discovery, as one
/// `ServiceGroup` that stops gracefully on SIGTERM and SIGINT.
///
/// One per state directory: making it takes the agent lock (`AgentLock`), held until it is
/// released.
public final class AgentApplication: Sendable {
    public let agent: Agent
    private let lock: AgentLock

    public init(paths: StatePaths, options: AgentOptions, logger: Logger) throws(AgentError) {
        lock = try AgentLock.acquire(paths: paths)
        agent = try Agent(paths: paths, options: options, logger: logger)
    }

    /// Runs until a signal stops it. `front` are the person's own services (the terminal);
    /// `onListening` is called once the peer port is bound, with that port and whether
    /// desktop notifications are on.
    public func run(front: [any Service], onListening: @escaping @Sendable (Int, NotifyService.State) -> Void) async throws(AgentError) {
        let agent = self.agent
        let options = agent.options
        let notifications = NotifyService(agent: agent)
        let control = ControlServer(agent: agent) { await agent.status() }
        let (ports, portSink) = AsyncStream<Int>.makeStream()
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: ServingService {
                try await agent.serve { port in
                    onListening(port, notifications.state)
                    portSink.yield(port)
                    portSink.finish()
                }
            }),
            .init(service: ServingService { try await control.run {} }),
        ]
        services += front.map { .init(service: $0) }
        services.append(.init(service: HistoryService(agent: agent)))
        services.append(.init(service: ReachService(agent: agent)))
        if let hook = ReceiveHookService(agent: agent) { services.append(.init(service: hook)) }
        services.append(.init(service: notifications))
        if let backend = try await DiscoveryChoice.backend(for: options, logger: agent.logger) {
            services.append(.init(service: DiscoveryService(agent: agent, port: ports, backend: backend)))
        }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint],
                                                      logger: agent.logger))
        do {
            try await group.run()
        } catch let error as AgentError {
            throw error
        } catch {
            throw AgentError(.general, "\(error)", underlying: error)
        }
    }
}
