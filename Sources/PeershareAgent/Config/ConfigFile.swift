import Foundation
import PeershareCore
import PeershareDiscovery
import TOMLKit
import PeershareTransfer

/// The settings in `config.toml` (in `$XDG_CONFIG_HOME/peershare/`, or `DIR/config/` with
/// `--home DIR`), each with the line it came from, so that `peershare config` can say where
/// a value came from and every error can name its line.
///
/// ```toml
/// name = "bob"
/// port = 53317
/// inbox = "~/Incoming"
/// listen = "::"
/// discovery = "auto"          # auto, daemon, embedded or off (true = auto, false = off)
/// discovery_interfaces = ["eth0"]   # mDNS only on these (default: all)
/// ask_paired = false
/// offer_timeout = 300          # seconds
/// limit_rate = "10M"           # bytes a second per send (k, M, G: 1024-based); 0 = no limit
/// limit_rate_total = "20M"     # bytes a second for all sends of the agent together
///
/// [limits]
/// max_pending_offers = 32
/// max_unauthenticated = 32
/// progress_window = 30         # seconds; each must bring progress_bytes of a transfer
/// progress_bytes = 16384
/// ```
public struct ConfigFile: Sendable, Equatable {
    /// A value and the 1-based line of the file it was set on.
    public struct Entry<Value: Sendable & Equatable>: Sendable, Equatable {
        public var value: Value
        public var line: Int
    }

    public let path: String
    public var name: Entry<String>?
    public var port: Entry<Int>?
    public var inbox: Entry<String>?
    public var listen: Entry<String>?
    public var discovery: Entry<DiscoveryMode>?
    public var discoveryInterfaces: Entry<[String]>?
    public var askPaired: Entry<Bool>?
    public var offerTimeout: Entry<Int>?
    public var limitRate: Entry<Int>?
    public var limitRateTotal: Entry<Int>?
    public var maxPendingOffers: Entry<Int>?
    public var maxUnauthenticated: Entry<Int>?
    public var progressWindow: Entry<Int>?
    public var progressBytes: Entry<Int>?
    public var onReceive: Entry<[String]>?
    public var onReceiveTimeout: Entry<Int>?
    public var notify: Entry<Bool>?
    public var staticPeers: Entry<[String]>?

    /// Every key the file may hold (`peershare config --help` lists these, so help and parser
    /// cannot disagree).
    public static let topLevelKeys = ["name", "port", "inbox", "listen", "discovery", "discovery_interfaces", "ask_paired", "offer_timeout",
                                      "limit_rate", "limit_rate_total", "limits"] + everydayKeys + reachKeys
    public static let limitKeys = ["max_pending_offers", "max_unauthenticated", "progress_window", "progress_bytes"]

    /// Reads and checks the file; nil when there is none. Any problem is an error that
    /// names the file and the line.
    public static func load(path: String) throws(AgentError) -> ConfigFile? {
        guard let bytes = try AtomicFile.read(path, limit: 1 << 20) else { return nil }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw AgentError(.usage, "\(path): the file is not valid UTF-8.")
        }
        return try parse(text, path: path)
    }

    /// Parses config text (exposed for tests).
    public static func parse(_ text: String, path: String) throws(AgentError) -> ConfigFile {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw AgentError(.usage, "\(path) line \(error.source.begin.line): \(error.description). Fix the file or remove it.", underlying: error)
        } catch {
            throw AgentError(.usage, "\(path): \(error)", underlying: error)
        }
        let lines = KeyLines(text)
        var config = ConfigFile(path: path)
        func fail(_ key: String, _ section: String?, _ message: String) -> AgentError {
            AgentError(.usage, "\(path) line \(lines.line(of: key, in: section)): \(message)")
        }
        for key in table.keys where !topLevelKeys.contains(key) {
            throw fail(key, nil, "unknown setting '\(DisplayEscape.escape(key))' (known: \(topLevelKeys.joined(separator: ", "))).")
        }
        func string(_ key: String) throws(AgentError) -> Entry<String>? {
            guard let raw = table[key] else { return nil }
            guard let value = raw.string else { throw fail(key, nil, "'\(key)' must be a string in quotes.") }
            return Entry(value: value, line: lines.line(of: key, in: nil))
        }
        func integer(_ key: String, in source: TOMLTable, section: String?, range: ClosedRange<Int>) throws(AgentError) -> Entry<Int>? {
            guard let raw = source[key] else { return nil }
            guard let value = raw.int else { throw fail(key, section, "'\(key)' must be a whole number.") }
            guard range.contains(value) else { throw fail(key, section, "'\(key)' must be between \(range.lowerBound) and \(range.upperBound).") }
            return Entry(value: value, line: lines.line(of: key, in: section))
        }
        func boolean(_ key: String) throws(AgentError) -> Entry<Bool>? {
            guard let raw = table[key] else { return nil }
            guard let value = raw.bool else { throw fail(key, nil, "'\(key)' must be true or false.") }
            return Entry(value: value, line: lines.line(of: key, in: nil))
        }
        config.name = try string("name")
        if let name = config.name, name.value.isEmpty || name.value.utf8.count > 64 {
            throw fail("name", nil, "'name' must be 1 to 64 bytes.")
        }
        config.port = try integer("port", in: table, section: nil, range: 0...65535)
        config.inbox = try string("inbox")
        config.listen = try string("listen")
        if let raw = table["discovery"] {
            let line = lines.line(of: "discovery", in: nil)
            if let flag = raw.bool {
                config.discovery = Entry(value: flag ? .auto : .off, line: line)
            } else if let text = raw.string, let mode = DiscoveryMode(rawValue: text) {
                config.discovery = Entry(value: mode, line: line)
            } else {
                throw fail("discovery", nil, "'discovery' must be \"auto\", \"daemon\", \"embedded\" or \"off\" (or true/false).")
            }
        }
        if let raw = table["discovery_interfaces"] {
            guard let array = raw.array else {
                throw fail("discovery_interfaces", nil, "'discovery_interfaces' must be a list of interface names, like [\"eth0\"].")
            }
            var names: [String] = []
            for item in array {
                guard let name = item.string, InterfaceName.isValid(name) else {
                    throw fail("discovery_interfaces", nil, "'discovery_interfaces' must hold interface names (1 to 15 bytes, no '/' or spaces).")
                }
                names.append(name)
            }
            config.discoveryInterfaces = Entry(value: names, line: lines.line(of: "discovery_interfaces", in: nil))
        }
        config.askPaired = try boolean("ask_paired")
        config.offerTimeout = try integer("offer_timeout", in: table, section: nil, range: 1...86_400)
        for key in ["limit_rate", "limit_rate_total"] {
            guard let raw = table[key] else { continue }
            let rate = raw.int.flatMap { $0 >= 0 ? ByteRate.parse(String($0)) : nil } ?? raw.string.flatMap(ByteRate.parse)
            guard let rate else {
                throw fail(key, nil, "'\(key)' must be \(ByteRate.help).")
            }
            let entry = Entry(value: Int(rate), line: lines.line(of: key, in: nil))
            if key == "limit_rate" { config.limitRate = entry } else { config.limitRateTotal = entry }
        }
        try config.parseEveryday(table, lines: lines)
        try config.parseReach(table, lines: lines)
        if let raw = table["limits"] {
            guard let limits = raw.table else { throw fail("limits", nil, "'limits' must be a table ([limits]).") }
            for key in limits.keys where !limitKeys.contains(key) {
                throw fail(key, "limits", "unknown setting '\(DisplayEscape.escape(key))' in [limits] (known: \(limitKeys.joined(separator: ", "))).")
            }
            config.maxPendingOffers = try integer("max_pending_offers", in: limits, section: "limits", range: 1...64)
            config.maxUnauthenticated = try integer("max_unauthenticated", in: limits, section: "limits", range: 1...4096)
            config.progressWindow = try integer("progress_window", in: limits, section: "limits", range: 1...3600)
            config.progressBytes = try integer("progress_bytes", in: limits, section: "limits", range: 1...(1 << 30))
        }
        return config
    }

    init(path: String) { self.path = path }
}

/// Finds the line on which a key is set: TOMLKit reports lines only for syntax errors, and a
/// person fixing a wrong value wants to know where it is.
struct KeyLines {
    private var lines: [(section: String?, key: String, line: Int)] = []

    init(_ text: String) {
        var section: String?
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("[") {
                section = line.trimmingCharacters(in: CharacterSet(charactersIn: "[] \t"))
            } else if let equals = line.firstIndex(of: "="), !line.hasPrefix("#") {
                let key = line[..<equals].trimmingCharacters(in: CharacterSet(charactersIn: " \t\"'"))
                lines.append((section, key, index + 1))
            }
        }
    }

    /// The line of `key` in `section` (nil: top level); 1 when it cannot be found.
    func line(of key: String, in section: String?) -> Int {
        lines.first { $0.key == key && $0.section == section }?.line
            ?? lines.first { $0.key == key }?.line
            ?? lines.first { section != nil && $0.section == nil && $0.key == section }?.line
            ?? 1
    }
}
