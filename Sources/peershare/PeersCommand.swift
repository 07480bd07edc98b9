import ArgumentParser
import Foundation
import PeershareAgent
import PeershareCore

/// `peershare peers`: who is on the network.
struct PeersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peers",
        abstract: "List the peers discovered on the local network, static peers and paired peers.",
        discussion: "Answers at once from the running agent's live table: peers announced over mDNS, static peers (`peers` in the config, `run --peer`) and paired peers mDNS does not show, with the outcome and latency of their last probe (every minute). Without a running agent, browses for about two seconds itself and lists paired peers unprobed.")

    @OptionGroup var common: CommonOptions

    @Flag(help: "Print a JSON array of objects with name, fingerprint, addresses, port, paired, firstSeen, lastSeen, source (mdns, static, remembered), and for probed peers reachable, latencyMs and note.")
    var json = false

    @Flag(help: "Probe static and paired peers now instead of showing the last probe (needs a running agent).")
    var probe = false

    @Option(help: ArgumentHelp("Seconds to browse when no agent is running.", valueName: "SECONDS"))
    var wait: Double = 2

    func run() async throws {
        let logger = common.bootstrapLogging()
        try await reportingErrors(json: json) {
            let list = try await PeershareClient(paths: common.paths, logger: logger).peers(browseSeconds: wait, probe: probe)
            let (peers, note, more) = (list.peers, list.note, list.more)
            if json {
                printJSON(peers)
                if let note { Console.err(note) }
                if more > 0 { Console.err("… and \(more) more peers not listed.") }
                return
            }
            if let note { Console.err(note) }
            if peers.isEmpty {
                Console.out("No peers found.")
                return
            }
            for line in PeerListing.lines(peers, now: Date()) { Console.out(line) }
            if more > 0 { Console.out("… and \(more) more") }
        }
    }
}
