import Foundation
import Testing
@testable import PeershareAgent
import PeershareDiscovery
@testable import PeershareTransfer

/// config.toml: values with their lines, errors that name the line, and precedence
/// (command line over file over default).
@Suite("Config file")
struct ConfigFileTests {
    @Test("every key is read with the line it is on")
    func readsKeysWithLines() throws {
        let text = """
            # comment
            name = "bob"
            port = 4000
            inbox = "/srv/in"
            listen = "127.0.0.1"
            discovery = false
            ask_paired = true
            offer_timeout = 60
            limit_rate = "1.5M"
            limit_rate_total = 2048

            [limits]
            max_pending_offers = 2
            max_unauthenticated = 8
            """
        let config = try ConfigFile.parse(text, path: "c.toml")
        #expect(config.name == .init(value: "bob", line: 2))
        #expect(config.port == .init(value: 4000, line: 3))
        #expect(config.inbox?.value == "/srv/in")
        #expect(config.listen?.value == "127.0.0.1")
        #expect(config.discovery == .init(value: .off, line: 6))
        #expect(config.askPaired == .init(value: true, line: 7))
        #expect(config.offerTimeout == .init(value: 60, line: 8))
        #expect(config.limitRate == .init(value: 1_572_864, line: 9))
        #expect(config.limitRateTotal == .init(value: 2048, line: 10))
        #expect(config.maxPendingOffers == .init(value: 2, line: 13))
        #expect(config.maxUnauthenticated == .init(value: 8, line: 14))
    }

    @Test("a bad file is an error naming the line", arguments: [
        ("name = \"bob\"\nport = \"x\"\n", "line 2", "whole number"),
        ("name = \"bob\"\nport = 70000\n", "line 2", "between 0 and 65535"),
        ("colour = \"red\"\n", "line 1", "unknown setting 'colour'"),
        ("name = \"a\"\n\n[limits]\nfoo = 1\n", "line 4", "unknown setting 'foo' in [limits]"),
        ("name = \"a\"\nname = \"b\"\n", "line 2", "cannot redefine"),
        ("name = \"unterminated\nport = 1\n", "line 1", "Error while parsing"),
        ("discovery = \"yes\"\n", "line 1", "\"auto\", \"daemon\", \"embedded\" or \"off\""),
        ("discovery = 1\n", "line 1", "\"auto\", \"daemon\", \"embedded\" or \"off\""),
        ("discovery_interfaces = \"eth0\"\n", "line 1", "must be a list"),
        ("name = \"a\"\ndiscovery_interfaces = [\"eth0\", \"a/b\"]\n", "line 2", "interface names"),
        ("discovery_interfaces = [\"averyveryverylongname\"]\n", "line 1", "interface names"),
        ("name = \"\"\n", "line 1", "1 to 64 bytes"),
        ("limits = 3\n", "line 1", "must be a table"),
        ("name = \"a\"\nlimit_rate = \"fast\"\n", "line 2", "'limit_rate' must be a number of bytes a second"),
        ("limit_rate_total = -5\n", "line 1", "'limit_rate_total' must be"),
        ("limit_rate = 100\n", "line 1", "at least 1k"),
    ])
    func badFiles(text: String, line: String, phrase: String) {
        do {
            _ = try ConfigFile.parse(text, path: "c.toml")
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.kind == .usage)
            #expect(error.message.contains("c.toml \(line)"), "\(error.message)")
            #expect(error.message.contains(phrase), "\(error.message)")
        }
    }

    @Test("the command line wins over the file, which wins over the default")
    func precedence() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("peershare-config-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: home) }
        let paths = StatePaths.resolve(home: home, environment: ["HOME": home])
        try FileManager.default.createDirectory(atPath: paths.configDirectory, withIntermediateDirectories: true)
        try "name = \"filename\"\nport = 4000\noffer_timeout = 42\n".write(toFile: paths.configFile, atomically: true, encoding: .utf8)
        var overrides = Settings.Overrides()
        overrides.port = 5000
        let settings = try Settings.resolve(paths: paths, overrides: overrides, hostName: "host")
        #expect(settings.options.name == "filename")
        #expect(settings.options.port == 5000)
        #expect(settings.options.timeouts.pairingWait == 42)
        #expect(settings.options.bindHost == "::")
        let sources = Dictionary(uniqueKeysWithValues: settings.items.map { ($0.key, $0.source) })
        #expect(sources["port"] == "command line")
        #expect(sources["name"] == "\(paths.configFile) line 1")
        #expect(sources["listen"] == "default")
        #expect(settings.configFound)
    }

    @Test("discovery takes a mode name, or true/false for auto/off", arguments: [
        ("discovery = \"embedded\"", DiscoveryMode.embedded),
        ("discovery = \"daemon\"", .daemon),
        ("discovery = \"auto\"", .auto),
        ("discovery = \"off\"", .off),
        ("discovery = true", .auto),
        ("discovery = false", .off),
    ])
    func discoveryModes(line: String, mode: DiscoveryMode) throws {
        let config = try ConfigFile.parse(line + "\ndiscovery_interfaces = [\"eth0\", \"wlan0\"]\n", path: "c.toml")
        #expect(config.discovery == .init(value: mode, line: 1))
        #expect(config.discoveryInterfaces == .init(value: ["eth0", "wlan0"], line: 2))
    }

    @Test("the discovery mode: command line, then $PEERSHARE_DISCOVERY, then the file, then auto")
    func discoveryPrecedence() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("peershare-config-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: home) }
        let paths = StatePaths.resolve(home: home, environment: ["HOME": home])
        func resolve(_ cli: DiscoveryMode?, env: String?) throws -> (DiscoveryMode, String?) {
            var overrides = Settings.Overrides()
            overrides.discovery = cli
            let settings = try Settings.resolve(paths: paths, overrides: overrides, hostName: "host",
                                                environment: env.map { ["PEERSHARE_DISCOVERY": $0] } ?? [:])
            return (settings.options.discovery, settings.items.first { $0.key == "discovery" }?.source)
        }
        #expect(try resolve(nil, env: nil) == (.auto, "default"))
        try FileManager.default.createDirectory(atPath: paths.configDirectory, withIntermediateDirectories: true)
        try "discovery = \"daemon\"\n".write(toFile: paths.configFile, atomically: true, encoding: .utf8)
        #expect(try resolve(nil, env: nil) == (.daemon, "\(paths.configFile) line 1"))
        #expect(try resolve(nil, env: "off") == (.off, "$PEERSHARE_DISCOVERY"))
        #expect(try resolve(.embedded, env: "off") == (.embedded, "command line"))
        #expect(throws: AgentError.self) { try resolve(nil, env: "sometimes") }
    }

    @Test("interface names as Linux accepts them", arguments: [
        ("eth0", true), ("veth0", true), ("wlp3s0", true), ("br-lan.10", true), ("123456789012345", true),
        ("", false), (".", false), ("..", false), ("a/b", false), ("a b", false), ("a:1", false), ("1234567890123456", false),
    ])
    func interfaceNames(name: String, valid: Bool) {
        #expect(InterfaceName.isValid(name) == valid)
    }
}
