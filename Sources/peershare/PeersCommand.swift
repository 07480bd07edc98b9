import ArgumentParser
import Foundation
import PeershareAgent
import PeershareCore
import PeershareDiscovery
import SodiumKit

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
            let paths = common.paths
            var peers: [PeerInfo]
            var note: String?
            var more = 0
            if await ControlClient.isAgentListening(paths: paths) {
                var request = ControlRequest(command: .peers)
                request.probe = probe ? true : nil
                let reply = try await ControlClient.request(request, paths: paths)
                peers = reply.peers ?? []
                more = reply.truncated ?? 0
                if let state = reply.discovery, state == "off" {
                    note = "The agent runs with discovery off (--discovery off); no peers are listed."
                } else if let state = reply.discovery, state.hasPrefix("unavailable") {
                    note = "Discovery is \(state). Peers can still be reached as HOST:PORT."
                }
            } else {
                let identity = try IdentityStore.loadOrCreate(paths: paths)
                let options = try Settings.resolve(paths: paths, overrides: Settings.Overrides(), hostName: StatePathsHelper.hostName).options
                let (found, problem) = await PeerDirectory.browseOnce(
                    seconds: wait, ownKey: identity.publicKey, mode: options.discovery,
                    interfaces: options.discoveryInterfaces, logger: logger)
                let pins = try TrustStore(paths: paths).all()
                peers = found.map { PeerInfo($0, pins: pins) }
                peers += try Agent.rememberedListing(paths: paths, excluding: Set(found.map(\.publicKeyHex)))
                note = problem.map { "No agent is running, and discovery is not available: \($0). Peers can still be reached as HOST:PORT." }
                    ?? "No agent is running: browsed the network for \(String(format: "%g", wait)) seconds."
            }
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
