import ArgumentParser
import Foundation
import PeershareAgent
import PeershareCore
import PeershareTransfer

/// `peershare doctor [PEER]`: why a peer is not found, in plain sentences.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check why peers are not found or not reached: discovery, firewall, mDNS, the port, and PEER's addresses.",
        discussion: """
            Checks the discovery stack and its interfaces, nftables rules that drop UDP 5353 or \
            the agent's port (reading them needs root), whether mDNS from other hosts reached \
            the running agent, the agent's port on each local address, and with PEER every \
            address it is known at (mDNS, static, remembered), each tried with its outcome. \
            Sends no multicast itself. Exits 0 when no check found a problem, 14 otherwise.
            """)

    /// The exit status when a check found a problem.
    static let problemStatus: Int32 = 14

    @OptionGroup var common: CommonOptions

    @Argument(help: ArgumentHelp("A peer to try: a name, a fingerprint prefix or HOST:PORT.", valueName: "PEER"))
    var peer: String?

    @Flag(help: "Print a JSON object: checks, each with check, status (ok, problem, unchecked), message and details.")
    var json = false

    func run() async throws {
        let logger = common.bootstrapLogging()
        var report = DoctorReport(checks: [])
        try await reportingErrors(json: json) {
            let paths = common.paths
            let settings = try Settings.resolve(paths: paths, overrides: Settings.Overrides(), hostName: Settings.hostName)
            var status: AgentStatus?
            var discovered: [PeerInfo] = []
            if await ControlClient.isAgentListening(paths: paths) {
                status = try await ControlClient.request(ControlRequest(command: .status), paths: paths).status
                discovered = try await ControlClient.request(ControlRequest(command: .peers), paths: paths).peers ?? []
            }
            let announced = discovered.filter { ($0.source ?? "mdns") == "mdns" }
            report.checks.append(DoctorChecks.discovery(status: status, interfaces: settings.options.discoveryInterfaces))
            report.checks.append(DoctorChecks.firewall(port: status?.port ?? settings.options.port))
            report.checks.append(DoctorChecks.mdnsTraffic(status: status, announced: announced.count))
            report.checks.append(await DoctorChecks.port(status?.port, addresses: status?.addresses ?? []))
            if let peer {
                var options = settings.options
                options.discovery = .off
                let agent = try Agent(paths: paths, options: options, logger: logger)
                report.checks.append(await agent.diagnose(peer, discovered: announced.map(\.asDiscovered)))
            }
            show(report)
        }
        if !report.fine { throw ExitCode(Self.problemStatus) }
    }

    private func show(_ report: DoctorReport) {
        if json {
            printJSON(report)
            return
        }
        for check in report.checks {
            let mark = switch check.status {
            case .ok: "ok     "
            case .problem: "PROBLEM"
            case .unchecked: "-      "
            }
            Console.out("\(mark) \(check.check): \(check.message)")
            for line in check.details ?? [] { Console.out("          \(DisplayEscape.escape(line))") }
        }
        Console.out(report.fine ? "Nothing found that stops peers from finding each other." : "See the PROBLEM lines above.")
    }
}
