import ArgumentParser
import Foundation
import PeershareAgent

/// `peershare history`: the last transfers in both directions, read from the history file
/// (no agent needed: a `send` without an agent records there too).
struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "List the last transfers and offers, sent and received.",
        discussion: "Newest first: when each began (UTC), the peer, the direction, what and how much, how it ended (confirmed, received, declined, expired, withdrawn, cancelled, wrong-code, refused, failed) and how long it took. The history keeps the last 1000 in the state directory (history.jsonl); an unreadable or corrupt file is an error (exit 8), never an empty list.")

    @OptionGroup var common: CommonOptions

    @Flag(help: "Print a JSON array (newest first).")
    var json = false

    @Option(help: ArgumentHelp("How many entries to list (1 to 1000).", valueName: "N"))
    var limit = 20

    func validate() throws {
        guard (1...HistoryFile.maxEntries).contains(limit) else {
            throw ValidationError("--limit must be between 1 and \(HistoryFile.maxEntries).")
        }
    }

    func run() async throws {
        _ = common.bootstrapLogging()
        try await reportingErrors(json: json) {
            let entries = try HistoryFile(paths: common.paths).latest(limit)
            if json {
                printJSON(entries)
            } else if entries.isEmpty {
                Console.out("No transfers yet.")
            } else {
                for line in HistoryListing.lines(entries) { Console.out(line) }
            }
        }
    }
}
