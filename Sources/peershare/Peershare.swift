import ArgumentParser
import Foundation
import PeershareAgent
import PeershareTransfer

/// The `peershare` command: the agent (default subcommand) and the commands that talk to it.
@main
struct Peershare: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "peershare",
        abstract: "Share folders with other machines on your network, end-to-end encrypted.",
        discussion: """
            Run `peershare` on every machine. Send with `peershare send PATH... --to HOST:PORT`; \
            the first time, the receiver types the pairing code shown on your screen. \
            Paired peers are remembered and need no code afterwards.
            """,
        version: version,
        subcommands: [
            RunCommand.self, SendCommand.self, PeersCommand.self, AcceptCommand.self, DeclineCommand.self,
            InboxCommand.self, HistoryCommand.self, StatusCommand.self, IdCommand.self, TrustedCommand.self, TrustCommand.self, ForgetCommand.self, ConfigCommand.self,
            DoctorCommand.self,
        ],
        defaultSubcommand: RunCommand.self)

    /// Parses and runs like ArgumentParser's own `main`, with two differences the man page
    /// promises: a usage error exits 2 (ArgumentParser uses 64, EX_USAGE), and a first word
    /// that is no subcommand is named as such instead of being read as an argument of `run`.
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let word = UnknownSubcommand.first(in: arguments, known: configuration.subcommands) {
            FileHandle.standardError.write(Data("peershare: \(word.message)\n".utf8))
            Foundation.exit(AgentError.Kind.usage.exitCode)
        }
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(AgentError.Kind.usage.exitCode)
        }
    }
}
