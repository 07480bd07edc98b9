import Foundation
import NIOCore
import NIOPosix
import PeershareTransfer

/// The checks of `peershare doctor` that look at this host: the discovery stack, the
/// firewall, mDNS from other hosts, and the listening port on each local address. None of
/// them sends multicast: what mDNS saw is asked of the running agent.
public enum DoctorChecks {
    /// Which stack the agent runs and on which interfaces.
    public static func discovery(status: AgentStatus?, interfaces: [String]) -> DoctorCheck {
        guard let status else {
            return DoctorCheck("discovery", .problem, "No agent is running, so nothing is announced or listening. Start one with `peershare run` (or the systemd user unit).")
        }
        let scope = interfaces.isEmpty ? "on every interface" : "only on \(interfaces.joined(separator: ", "))"
        let addresses = "This host's addresses: \(status.addresses.joined(separator: ", "))."
        switch status.discovery {
        case "off":
            return DoctorCheck("discovery", .unchecked, "Discovery is off (--discovery off or the config file): peers are reached only by address, static peers and remembered addresses. \(addresses)")
        case let state where state.hasPrefix("unavailable"):
            return DoctorCheck("discovery", .problem, "Discovery is not working (\(state.dropFirst("unavailable: ".count))). With --discovery embedded the agent needs no avahi-daemon. \(addresses)")
        case let stack:
            return DoctorCheck("discovery", .ok, "Discovery runs on \(stack) \(scope), port \(status.port). \(addresses)")
        }
    }

    /// Whether mDNS from other hosts reached the agent: peers it lists as announced now.
    public static func mdnsTraffic(status: AgentStatus?, announced: Int) -> DoctorCheck {
        guard let status, status.discovery != "off", !status.discovery.hasPrefix("unavailable") else {
            return DoctorCheck("mdns", .unchecked, "Not checked: no agent with discovery on is running to ask.")
        }
        if announced > 0 {
            return DoctorCheck("mdns", .ok, "mDNS from other hosts arrives: \(announced) peer\(announced == 1 ? " is" : "s are") announced now.")
        }
        return DoctorCheck("mdns", .problem, "No mDNS from other hosts was seen: no peer is announced now. If another machine runs peershare on this network, the network drops multicast between hosts (client or AP isolation, multicast filtering, a guest network or a VPN), or a firewall drops UDP 5353. Pair once by HOST:PORT, or add the peer to `peers` in the config: both work without mDNS.")
    }

    /// Rules of this host's firewall that drop UDP 5353 or the agent's TCP port.
    public static func firewall(port: Int?) -> DoctorCheck {
        var ports = [FirewallRules.Port("udp", 5353)]
        if let port { ports.append(FirewallRules.Port("tcp", port)) }
        let wanted = ports.map { "\($0.proto) \($0.number)" }.joined(separator: " and ")
        guard let nft = tool("nft") else { return iptables(ports, wanted: wanted) }
        let (status, output) = run(nft, ["-j", "list", "ruleset"])
        guard status == 0 else {
            return DoctorCheck("firewall", .unchecked, "Not checked: the firewall rules cannot be read as a non-root user. Look at `sudo nft list ruleset` for rules that drop \(wanted), or read the firewall line of `sudo peershare doctor`.")
        }
        let drops = FirewallRules.drops(inNftJSON: output, ports: ports)
        if drops.isEmpty {
            return DoctorCheck("firewall", .ok, "No nftables rule drops \(wanted).")
        }
        return DoctorCheck("firewall", .problem, "This host's firewall drops what peershare needs (\(wanted)): remove or narrow \(drops.count == 1 ? "this rule" : "these rules").", details: drops)
    }

    /// Without nftables: legacy iptables and ip6tables (`-S`, which needs root too).
    static func iptables(_ ports: [FirewallRules.Port], wanted: String) -> DoctorCheck {
        var drops: [String] = []
        var read = false
        for family in ["iptables", "ip6tables"] {
            guard let path = tool(family) else { continue }
            let (status, output) = run(path, ["-S"])
            guard status == 0 else { continue }
            read = true
            drops += FirewallRules.drops(inIptablesRules: String(decoding: output, as: UTF8.self), family: family, ports: ports)
        }
        guard read else {
            return DoctorCheck("firewall", .unchecked, "Not checked: nft is not installed, and the iptables rules cannot be read (they need root). Look at `sudo iptables -S` for rules that drop \(wanted), or read the firewall line of `sudo peershare doctor`.")
        }
        if drops.isEmpty { return DoctorCheck("firewall", .ok, "No iptables rule drops \(wanted).") }
        return DoctorCheck("firewall", .problem, "This host's firewall drops what peershare needs (\(wanted)): remove or narrow \(drops.count == 1 ? "this rule" : "these rules").", details: drops)
    }

    /// The first of /usr/sbin, /sbin, /usr/bin that has `name`.
    static func tool(_ name: String) -> String? {
        ["/usr/sbin/", "/sbin/", "/usr/bin/"].map { $0 + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs a tool with no shell; its exit status and standard output (errors discarded).
    static func run(_ path: String, _ arguments: [String]) -> (Int32, Data) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return (-1, Data()) }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, data)
    }

    /// The agent's port reached on each local address (a plain TCP connect, then close).
    public static func port(_ port: Int?, addresses: [String], group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async -> DoctorCheck {
        guard let port, port > 0 else { return DoctorCheck("port", .unchecked, "Not checked: no agent is listening.") }
        var lines: [String] = []
        var failed = 0
        for host in addresses {
            let address = PeerAddress(host: host, port: port)
            do {
                let (channel, _) = try await Connections.connect(to: address, group: group, timeout: 2)
                try? await channel.channel.close()
                lines.append("\(address): reachable")
            } catch {
                failed += 1
                lines.append("\(address): \(error.message)")
            }
        }
        if failed == 0 { return DoctorCheck("port", .ok, "TCP port \(port) answers on every local address.", details: lines) }
        return DoctorCheck("port", .problem, "TCP port \(port) does not answer on \(failed) of \(addresses.count) local addresses (is the agent listening there? see --listen).", details: lines)
    }
}
