import ArgumentParser
import Foundation
import Logging
import PeershareAgent
import PeershareTransfer

/// `peershare run` (the default): the agent in the foreground.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the agent: receive offers and send files (the default command).",
        discussion: "Stops gracefully on SIGINT or SIGTERM; transfers in progress are ended; complete files, and what arrived of a file over 64 KiB, are kept so that sending again resumes.")

    @OptionGroup var common: CommonOptions

    @OptionGroup var settings: AgentSettingsOptions

    func run() async throws {
        MemoryTuning.apply()
        let logger = common.bootstrapLogging()
        let paths = common.paths
        try await reportingErrors {
            let options = try Settings.resolve(paths: paths, overrides: settings.overrides, hostName: Settings.hostName).options
            let application = try AgentApplication(paths: paths, options: options, logger: logger)
            let terminal = AgentTerminal(agent: application.agent, quiet: common.quiet)
            let events = application.agent.hub.subscribe()
            try await application.run(front: [TerminalService(terminal: terminal, events: events)]) { port, notifications in
                terminal.listening(port: port)
                terminal.notifications(notifications)
            }
            terminal.stopped()
        }
    }
}
