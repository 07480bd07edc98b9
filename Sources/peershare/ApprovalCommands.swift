import ArgumentParser
import Foundation
import PeershareAgent
import PeershareCore
import PeershareTransfer

/// `peershare accept CODE`: approve a waiting offer from any terminal of this user, and say
/// whether the code matched (exit 0) or not (exit 5).
struct AcceptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accept",
        abstract: "Accept a waiting offer by typing the pairing code shown on the sender's screen.",
        discussion: "Without CODE, approves an offer from a paired peer (when the agent runs with --ask-paired). Waits for the outcome: exit 0 once the code matched and the transfer started, 5 for a wrong code, 6 if the offer expired, or the status of a refusal that followed (7: not enough space).")

    @OptionGroup var common: CommonOptions

    @Argument(help: ArgumentHelp("The 6-digit pairing code; spaces are optional (\"428 913\").", valueName: "CODE"))
    var code: [String] = []

    @Option(help: ArgumentHelp("The offer to accept when several are waiting (see `peershare inbox`).", valueName: "ID"))
    var offer: String?

    func validate() throws {
        if !code.isEmpty, PairingCode(typed: code.joined()) == nil {
            throw ValidationError("A pairing code is 6 digits, like 428 913.")
        }
    }

    func run() async throws {
        _ = common.bootstrapLogging()
        try await reportingErrors {
            var request = ControlRequest(command: .accept)
            request.code = code.isEmpty ? nil : code.joined()
            request.offer = offer
            let reply = try await ControlClient.request(request, paths: common.paths)
            // The agent answers once the offer's transfer started, or with why it did not
            // (a wrong code is exit 5).
            if let accepted = reply.offer, !common.quiet {
                let contents = Describe.contents(files: accepted.files, directories: accepted.directories, bytes: accepted.bytes)
                let from = "\"\(DisplayEscape.escape(accepted.peer))\""
                Console.out(accepted.needsCode
                    ? "Code matched; receiving \(contents) from \(from) (offer \(accepted.id))."
                    : "Accepted; receiving \(contents) from \(from) (offer \(accepted.id)).")
            }
        }
    }
}

/// `peershare decline [ID]`.
struct DeclineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decline",
        abstract: "Decline a waiting offer (the only one, or the one with ID).")

    @OptionGroup var common: CommonOptions

    @Argument(help: ArgumentHelp("The offer to decline (see `peershare inbox`).", valueName: "ID"))
    var id: String?

    func run() async throws {
        _ = common.bootstrapLogging()
        try await reportingErrors {
            var request = ControlRequest(command: .decline)
            request.offer = id
            let reply = try await ControlClient.request(request, paths: common.paths)
            if let declined = reply.offer, !common.quiet {
                Console.out("Declined offer \(declined.id) from \"\(DisplayEscape.escape(declined.peer))\".")
            }
        }
    }
}

/// `peershare inbox`: offers waiting for a decision.
struct InboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inbox",
        abstract: "List offers waiting for your decision.")

    @OptionGroup var common: CommonOptions

    @Flag(help: "Print a JSON array.")
    var json = false

    @Flag(help: "Keep watching: show offers as they arrive and read answers from standard input (the pairing code accepts the oldest waiting offer, y accepts a paired peer's, an empty line or n declines it). For an agent that runs as a service.")
    var watch = false

    func validate() throws {
        if watch && json { throw ValidationError("--watch shows offers for a person; it does not take --json (use the control socket's events, docs/CONTROL.md).") }
    }

    func run() async throws {
        _ = common.bootstrapLogging()
        if watch {
            try await reportingErrors { try await InboxWatch(paths: common.paths).run() }
            return
        }
        try await reportingErrors(json: json) {
            let reply = try await ControlClient.request(ControlRequest(command: .inbox), paths: common.paths)
            let offers = reply.offers ?? []
            if json {
                printJSON(offers)
                return
            }
            if offers.isEmpty {
                Console.out("No offers are waiting.")
                return
            }
            for offer in offers { Self.show(offer) }
        }
    }

    /// One waiting offer: who, what, how to accept, and when it expires.
    static func show(_ offer: PendingOffer) {
        let contents = Describe.contents(files: offer.files, directories: offer.directories, bytes: offer.bytes)
        let left = max(0, offer.expires.timeIntervalSinceNow)
        Console.out("\(offer.id)  from \"\(DisplayEscape.escape(offer.peer))\" at \(offer.address) (\(offer.fingerprint))")
        Console.out("          \(contents): \(Describe.names(offer.names, more: offer.moreNames))")
        if let warning = offer.warning { Console.out("          WARNING: \(warning)") }
        Console.out("          \(offer.needsCode ? "needs the pairing code: peershare accept CODE" : "paired peer: peershare accept --offer \(offer.id)"); expires in \(Describe.clock(left))")
    }
}
