import ArgumentParser

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
            InboxCommand.self, StatusCommand.self, IdCommand.self, TrustedCommand.self, ForgetCommand.self, ConfigCommand.self,
        ],
        defaultSubcommand: RunCommand.self)
}
