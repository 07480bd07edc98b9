import ArgumentParser
import Foundation
import Logging
import PeershareAgent
import PeershareDiscovery
import ServiceLifecycle

/// `peershare run` (the default): the agent in the foreground.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the agent: receive offers and send files (the default command).",
        discussion: "Stops gracefully on SIGINT or SIGTERM; transfers in progress are ended and their partial files removed.")

    @OptionGroup var common: CommonOptions

    @Option(help: ArgumentHelp("The name other people see (default: the host name).", valueName: "NAME"))
    var name: String?

    @Option(help: ArgumentHelp("Where received files go (default: $XDG_DOWNLOAD_DIR/peershare or ~/Downloads/peershare).", valueName: "DIR"))
    var inbox: String?

    @Option(help: ArgumentHelp("TCP port to listen on; 0 picks a free one.", valueName: "N"))
    var port: Int = AgentOptions.defaultPort

    @Option(help: ArgumentHelp("Address to listen on (default: every interface).", valueName: "ADDRESS"))
    var listen: String = "::"

    @Flag(help: "Do not advertise or browse over mDNS.")
    var noDiscovery = false

    @Flag(help: "Ask y/N before accepting files from paired peers (by default they are accepted).")
    var askPaired = false

    @Option(help: ArgumentHelp("Seconds an offer waits for approval, and a pairing code stays valid.", valueName: "SECONDS"))
    var offerTimeout: Int = 300

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535.") }
        guard offerTimeout >= 1 else { throw ValidationError("--offer-timeout must be at least 1 second.") }
        if let name, name.isEmpty || name.utf8.count > 64 { throw ValidationError("--name must be 1 to 64 bytes.") }
    }

    func run() async throws {
        MemoryTuning.apply()
        let logger = common.bootstrapLogging()
        let paths = common.paths
        var options = AgentOptions(
            name: name ?? ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "peershare",
            inbox: StatePathsHelper.absolute(inbox ?? paths.defaultInbox),
            port: port)
        options.bindHost = listen
        options.askPaired = askPaired
        options.discovery = !noDiscovery
        options.timeouts.pairingWait = Double(offerTimeout)
        try await reportingErrors {
            let agent = try Agent(paths: paths, options: options, logger: logger)
            let terminal = AgentTerminal(agent: agent, quiet: common.quiet)
            let events = agent.hub.subscribe()
            let control = ControlServer(agent: agent) { await agent.status() }
            let (ports, portSink) = AsyncStream<Int>.makeStream()
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
                .init(service: ListenerService(agent: agent) { port in
                    terminal.listening(port: port)
                    portSink.yield(port)
                    portSink.finish()
                }),
                .init(service: ControlService(server: control) {}),
                .init(service: TerminalService(terminal: terminal, events: events)),
            ]
            if !noDiscovery {
                services.append(.init(service: DiscoveryService(agent: agent, port: ports, backend: AvahiDaemonDiscovery(logger: logger))))
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
    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        if path.hasPrefix("~/"), let home = ProcessInfo.processInfo.environment["HOME"] {
            return home + path.dropFirst(1)
        }
        return FileManager.default.currentDirectoryPath + "/" + path
    }
}
