import ArgumentParser
import Foundation
import Logging
import PeershareAgent
import PeershareDiscovery
import ServiceLifecycle
import PeershareTransfer

/// `peershare run` (the default): the agent in the foreground.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the agent: receive offers and send files (the default command).",
        discussion: "Stops gracefully on SIGINT or SIGTERM; transfers in progress are ended, and what they received is kept so that sending again resumes.")

    @OptionGroup var common: CommonOptions

    @OptionGroup var settings: AgentSettingsOptions

    func run() async throws {
        MemoryTuning.apply()
        let logger = common.bootstrapLogging()
        let paths = common.paths
        try await reportingErrors {
            let options = try Settings.resolve(paths: paths, overrides: settings.overrides, hostName: StatePathsHelper.hostName).options
            let lock = try AgentLock.acquire(paths: paths)
            defer { withExtendedLifetime(lock) {} }
            let agent = try Agent(paths: paths, options: options, logger: logger)
            let terminal = AgentTerminal(agent: agent, quiet: common.quiet)
            let events = agent.hub.subscribe()
            let history = HistoryService(agent: agent)
            let notifications = NotifyService(agent: agent)
            let control = ControlServer(agent: agent) { await agent.status() }
            let (ports, portSink) = AsyncStream<Int>.makeStream()
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
                .init(service: ListenerService(agent: agent) { port in
                    terminal.listening(port: port)
                    terminal.notifications(notifications.state)
                    portSink.yield(port)
                    portSink.finish()
                }),
                .init(service: ControlService(server: control) {}),
                .init(service: TerminalService(terminal: terminal, events: events)),
                .init(service: history),
                .init(service: ReachService(agent: agent)),
            ]
            if let hook = ReceiveHookService(agent: agent) { services.append(.init(service: hook)) }
            services.append(.init(service: notifications))
            if let backend = try await DiscoveryChoice.backend(for: options, logger: logger) {
                services.append(.init(service: DiscoveryService(agent: agent, port: ports, backend: backend)))
            }
            let group = ServiceGroup(
                configuration: .init(
                    services: services,
                    gracefulShutdownSignals: [.sigterm, .sigint],
                    logger: logger))
            do {
                try await group.run()
            } catch let error as AgentError {
                throw error
            } catch {
                throw AgentError(.general, "\(error)", underlying: error)
            }
            terminal.stopped()
        }
    }
}

enum StatePathsHelper {
    /// The short host name, the default agent name.
    static var hostName: String {
        ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "peershare"
    }
}
