import ArgumentParser
import Foundation
import PeershareAgent
import PeershareCore
import PeershareTransfer

/// `peershare trust PEER [--accept auto|ask|never] [--max-size SIZE] [--inbox DIR]`: what
/// this receiver does with one paired peer's offers.
struct TrustCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trust",
        abstract: "Set what to do with a paired peer's offers: accept them without asking, ask, or refuse; a size limit; its own inbox.",
        discussion: "PEER is a paired peer's name, a fingerprint prefix or an address, as `peershare trusted` lists them. Without options, prints its policy. Peers without a policy follow the agent's settings (--ask-paired, the inbox). The running agent applies a change to the next offer.")

    @OptionGroup var common: CommonOptions

    @Argument(help: ArgumentHelp("The paired peer.", valueName: "PEER"))
    var peer: String

    @Option(help: ArgumentHelp("auto: receive without asking (even under --ask-paired); ask: ask before each offer; never: refuse every offer; default: follow the agent's settings.", valueName: "MODE"))
    var accept: String?

    @Option(help: ArgumentHelp("Refuse offers larger than SIZE (bytes, or with K, M, G or T: powers of 1024, like 500M or 2G); none: no limit.", valueName: "SIZE"))
    var maxSize: String?

    @Option(help: ArgumentHelp("Put this peer's files in DIR (created if missing); default: the agent's inbox.", valueName: "DIR"), completion: .directory)
    var inbox: String?

    @Flag(help: "Remove the whole policy (back to the agent's settings).")
    var reset = false

    @Flag(help: "Print the pin with its policy as JSON.")
    var json = false

    func validate() throws {
        if let accept, accept != "default", PeerPolicy.Accept(rawValue: accept) == nil {
            throw ValidationError("--accept must be auto, ask, never or default.")
        }
        if let maxSize, maxSize != "none", PolicyText.parseSize(maxSize) == nil {
            throw ValidationError("--max-size must be a size like 500M, 2G or 1048576 (or none).")
        }
        if let inbox, inbox.isEmpty { throw ValidationError("--inbox needs a directory (or default).") }
    }

    func run() async throws {
        _ = common.bootstrapLogging()
        try await reportingErrors(json: json) {
            let store = TrustStore(paths: common.paths)
            let changes = reset || accept != nil || maxSize != nil || inbox != nil
            let pin = changes ? try store.setPolicy(peer, apply) : try store.pin(matching: peer)
            if json {
                printJSON(TrustedCommand.Row(pin))
            } else if !common.quiet {
                Console.out("\"\(DisplayEscape.escape(pin.shownName))\" (\(pin.fingerprint)): \(PolicyText.describe(pin.policy))")
            }
        }
    }

    private func apply(_ policy: inout PeerPolicy) {
        if reset { policy = PeerPolicy() }
        if let accept { policy.accept = PeerPolicy.Accept(rawValue: accept) }
        if let maxSize { policy.maxSize = maxSize == "none" ? nil : PolicyText.parseSize(maxSize) }
        if let inbox { policy.inbox = inbox == "default" ? nil : Settings.expand(inbox) }
    }
}
