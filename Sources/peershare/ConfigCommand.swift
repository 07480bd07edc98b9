import ArgumentParser
import Foundation
import PeershareAgent
import PeershareCore

/// `peershare config`: the effective settings and where each came from.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Show the effective settings and where each came from (default, config file line, command line).",
        discussion: """
            The config file is $XDG_CONFIG_HOME/peershare/config.toml (DIR/config/config.toml with --home). \
            Keys: \(ConfigFile.topLevelKeys.filter { $0 != "limits" }.joined(separator: ", ")), and in [limits]: \
            \(ConfigFile.limitKeys.joined(separator: ", ")). Options of `peershare run` given here override it.
            """)

    @OptionGroup var common: CommonOptions

    @OptionGroup var settings: AgentSettingsOptions

    @Flag(help: "Print a JSON object.")
    var json = false

    struct Output: Codable {
        var configFile: String
        var configFileFound: Bool
        var settings: [Settings.Item]
    }

    func run() async throws {
        _ = common.bootstrapLogging()
        try await reportingErrors(json: json) {
            let settings = try Settings.resolve(paths: common.paths, overrides: settings.overrides, hostName: Settings.hostName)
            if json {
                printJSON(Output(configFile: settings.configPath, configFileFound: settings.configFound, settings: settings.items))
                return
            }
            Console.out("Config file: \(DisplayEscape.escape(settings.configPath))\(settings.configFound ? "" : " (not present; defaults apply)")")
            let width = settings.items.map(\.key.count).max() ?? 0
            for item in settings.items {
                let key = item.key.padding(toLength: width, withPad: " ", startingAt: 0)
                Console.out("\(key)  \(DisplayEscape.escape(item.value.description))  (\(DisplayEscape.escape(item.source)))")
            }
        }
    }
}
