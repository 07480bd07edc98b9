import ArgumentParser
import PeershareAgent
import PeershareCore
import PeershareDiscovery

extension DiscoveryMode: ExpressibleByArgument {}

/// The agent's settings that the command line can give (and that override config.toml),
/// shared by `run` and `config`.
struct AgentSettingsOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The name other people see (default: the host name).", valueName: "NAME"))
    var name: String?

    @Option(help: ArgumentHelp("Where received files go (default: $XDG_DOWNLOAD_DIR/peershare or ~/Downloads/peershare).", valueName: "DIR"))
    var inbox: String?

    @Option(help: ArgumentHelp("TCP port to listen on (default 53317); 0 picks a free one.", valueName: "N"))
    var port: Int?

    @Option(help: ArgumentHelp("Address to listen on (default: every interface).", valueName: "ADDRESS"))
    var listen: String?

    @Option(help: ArgumentHelp("How peers are discovered over mDNS: auto (avahi-daemon if it runs, else the embedded stack), daemon, embedded or off (default: auto).", valueName: "MODE"))
    var discovery: DiscoveryMode?

    @Option(name: .customLong("discovery-interface"),
            help: ArgumentHelp("Use mDNS only on this network interface (repeat for several; default: all).", valueName: "IFACE"))
    var discoveryInterfaces: [String] = []

    @Option(name: .customLong("peer"),
            help: ArgumentHelp("A peer to reach by address where mDNS does not: HOST, HOST:PORT or [IPv6]:PORT; probed every minute (repeat for several; replaces `peers` of the config file).", valueName: "HOST[:PORT]"))
    var staticPeers: [String] = []

    @Flag(help: "Do not advertise or browse over mDNS (the same as --discovery off).")
    var noDiscovery = false

    @Flag(help: "Ask y/N before accepting files from paired peers (by default they are accepted).")
    var askPaired = false

    @Option(help: ArgumentHelp("Seconds an offer waits for approval, and a pairing code stays valid (default 300).", valueName: "SECONDS"))
    var offerTimeout: Int?

    func validate() throws {
        if let port, !(0...65535).contains(port) { throw ValidationError("--port must be between 0 and 65535.") }
        if let offerTimeout, offerTimeout < 1 { throw ValidationError("--offer-timeout must be at least 1 second.") }
        if let name, name.isEmpty || name.utf8.count > 64 { throw ValidationError("--name must be 1 to 64 bytes.") }
        if noDiscovery, let discovery, discovery != .off {
            throw ValidationError("--no-discovery contradicts --discovery \(discovery.rawValue).")
        }
        for peer in staticPeers where StaticPeer(parsing: peer, defaultPort: AgentOptions.defaultPort) == nil {
            throw ValidationError("--peer '\(DisplayEscape.escape(peer))' is not an address: give \(StaticPeer.forms).")
        }
        for name in discoveryInterfaces where !InterfaceName.isValid(name) {
            throw ValidationError("--discovery-interface '\(DisplayEscape.escape(name))' is not an interface name (1 to 15 bytes, no '/' or spaces).")
        }
    }

    /// What was given on the command line, for `Settings.resolve`.
    var overrides: Settings.Overrides {
        var overrides = Settings.Overrides()
        overrides.name = name
        overrides.inbox = inbox.map { Settings.expand($0) }
        overrides.port = port
        overrides.listen = listen
        overrides.discovery = noDiscovery ? .off : discovery
        overrides.discoveryInterfaces = discoveryInterfaces.isEmpty ? nil : discoveryInterfaces
        overrides.askPaired = askPaired
        overrides.offerTimeout = offerTimeout
        overrides.staticPeers = staticPeers.isEmpty ? nil : staticPeers
        return overrides
    }
}
