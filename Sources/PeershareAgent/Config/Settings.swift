import Foundation
import PeershareCore
import PeershareDiscovery
import PeershareTransfer

/// The effective settings of an agent and where each came from: the command line wins over
/// the config file, which wins over the built-in default. `peershare config` shows this.
public struct Settings: Sendable {
    /// One setting as `peershare config` prints it; in JSON, `value` has the setting's type.
    public struct Item: Codable, Sendable, Equatable {
        public var key: String
        public var value: SettingValue
        public var source: String
    }

    /// What the command line said (nil: not given).
    public struct Overrides: Sendable {
        public var name: String?
        public var inbox: String?
        public var port: Int?
        public var listen: String?
        public var discovery: DiscoveryMode?
        public var discoveryInterfaces: [String]?
        public var askPaired = false
        public var offerTimeout: Int?
        /// `run --peer` (repeatable), already checked.
        public var staticPeers: [String]?
        /// Bytes a second (`send --limit-rate`; 0: no limit).
        public var limitRate: Int?

        public init() {}
    }

    public var options: AgentOptions
    public var items: [Item]
    public var configPath: String
    public var configFound: Bool

    /// Merges defaults, the config file and the command line.
    public static func resolve(paths: StatePaths, overrides: Overrides, hostName: String,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws(AgentError) -> Settings {
        let config = try ConfigFile.load(path: paths.configFile)
        var items: [Item] = []
        func pick<T: SettingConvertible>(_ key: String, cli: T?, file: ConfigFile.Entry<T>?, fallback: T) -> T {
            if let cli {
                items.append(Item(key: key, value: cli.settingValue, source: "command line"))
                return cli
            }
            if let file {
                items.append(Item(key: key, value: file.value.settingValue, source: "\(paths.configFile) line \(file.line)"))
                return file.value
            }
            items.append(Item(key: key, value: fallback.settingValue, source: "default"))
            return fallback
        }
        let name = pick("name", cli: overrides.name, file: config?.name, fallback: hostName)
        let inbox = pick("inbox", cli: overrides.inbox, file: config?.inbox, fallback: paths.defaultInbox)
        let port = pick("port", cli: overrides.port, file: config?.port, fallback: AgentOptions.defaultPort)
        let listen = pick("listen", cli: overrides.listen, file: config?.listen, fallback: "::")
        let discovery = try pickDiscovery(overrides: overrides, file: config?.discovery, environment: environment, items: &items, configFile: paths.configFile)
        let interfaces = pick("discovery_interfaces", cli: overrides.discoveryInterfaces, file: config?.discoveryInterfaces, fallback: [String]())
        let askPaired = pick("ask_paired", cli: overrides.askPaired ? true : nil, file: config?.askPaired, fallback: false)
        let offerTimeout = pick("offer_timeout", cli: overrides.offerTimeout, file: config?.offerTimeout, fallback: 300)
        var options = AgentOptions(name: name, inbox: Self.expand(inbox), port: port)
        let maxPending = pick("limits.max_pending_offers", cli: nil, file: config?.maxPendingOffers, fallback: options.maxPendingOffers)
        let maxUnauthenticated = pick("limits.max_unauthenticated", cli: nil, file: config?.maxUnauthenticated, fallback: options.maxUnauthenticated)
        options.bindHost = listen
        options.discovery = discovery
        options.discoveryInterfaces = interfaces
        options.askPaired = askPaired
        options.timeouts.pairingWait = Double(offerTimeout)
        options.maxPendingOffers = maxPending
        options.maxUnauthenticated = maxUnauthenticated
        options.timeouts.progressWindow = Double(pick("limits.progress_window", cli: nil, file: config?.progressWindow,
                                                      fallback: Int(options.timeouts.progressWindow)))
        options.minimumProgressBytes = UInt64(pick("limits.progress_bytes", cli: nil, file: config?.progressBytes,
                                                   fallback: Int(options.minimumProgressBytes)))
        options.limitRate = UInt64(pick("limit_rate", cli: overrides.limitRate, file: config?.limitRate, fallback: 0))
        options.limitRateTotal = UInt64(pick("limit_rate_total", cli: nil, file: config?.limitRateTotal, fallback: 0))
        if let hook = config?.onReceive {
            options.onReceive = [Self.expand(hook.value[0])] + hook.value.dropFirst()
            items.append(Item(key: "on_receive", value: .list(hook.value), source: "\(paths.configFile) line \(hook.line)"))
        } else {
            items.append(Item(key: "on_receive", value: .text("(none)"), source: "default"))
        }
        let peers = pick("peers", cli: overrides.staticPeers, file: config?.staticPeers, fallback: [String]())
        options.staticPeers = peers.compactMap { StaticPeer(parsing: $0, defaultPort: AgentOptions.defaultPort) }
        options.onReceiveTimeout = Double(pick("on_receive_timeout", cli: nil, file: config?.onReceiveTimeout, fallback: 60))
        options.notify = pick("notify", cli: nil, file: config?.notify, fallback: true)
        items.append(Item(key: "state_directory", value: .text(paths.stateDirectory), source: "--home, $PEERSHARE_HOME or $XDG_STATE_HOME"))
        return Settings(options: options, items: items, configPath: paths.configFile, configFound: config != nil)
    }

    /// The discovery mode: the command line, then `$PEERSHARE_DISCOVERY` (how test
    /// harnesses keep every agent they start off the real network), then the file, then
    /// "auto".
    static func pickDiscovery(overrides: Overrides, file: ConfigFile.Entry<DiscoveryMode>?, environment: [String: String],
                              items: inout [Item], configFile: String) throws(AgentError) -> DiscoveryMode {
        if let mode = overrides.discovery {
            items.append(Item(key: "discovery", value: .text(mode.rawValue), source: "command line"))
            return mode
        }
        if let text = environment["PEERSHARE_DISCOVERY"], !text.isEmpty {
            guard let mode = DiscoveryMode(rawValue: text) else {
                throw AgentError(.usage, "PEERSHARE_DISCOVERY must be auto, daemon, embedded or off (it is '\(DisplayEscape.escape(text))').")
            }
            items.append(Item(key: "discovery", value: .text(mode.rawValue), source: "$PEERSHARE_DISCOVERY"))
            return mode
        }
        if let file {
            items.append(Item(key: "discovery", value: .text(file.value.rawValue), source: "\(configFile) line \(file.line)"))
            return file.value
        }
        items.append(Item(key: "discovery", value: .text(DiscoveryMode.auto.rawValue), source: "default"))
        return .auto
    }

    /// `~/x` → `$HOME/x`; relative paths become absolute (against the working directory).
    public static func expand(_ path: String) -> String {
        if path.hasPrefix("~/"), let home = ProcessInfo.processInfo.environment["HOME"] {
            return home + path.dropFirst(1)
        }
        return StatePaths.absolute(path)
    }
}

extension Settings {
    /// The short host name, the default agent name.
    public static var hostName: String {
        ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "peershare"
    }
}
