import Foundation
import Testing
@testable import PeershareAgent

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

            [limits]
            max_pending_offers = 2
            max_unauthenticated = 8
            """
        let config = try ConfigFile.parse(text, path: "c.toml")
        #expect(config.name == .init(value: "bob", line: 2))
        #expect(config.port == .init(value: 4000, line: 3))
        #expect(config.inbox?.value == "/srv/in")
        #expect(config.listen?.value == "127.0.0.1")
        #expect(config.discovery == .init(value: false, line: 6))
        #expect(config.askPaired == .init(value: true, line: 7))
        #expect(config.offerTimeout == .init(value: 60, line: 8))
        #expect(config.maxPendingOffers == .init(value: 2, line: 11))
        #expect(config.maxUnauthenticated == .init(value: 8, line: 12))
    }

    @Test("a bad file is an error naming the line", arguments: [
        ("name = \"bob\"\nport = \"x\"\n", "line 2", "whole number"),
        ("name = \"bob\"\nport = 70000\n", "line 2", "between 0 and 65535"),
        ("colour = \"red\"\n", "line 1", "unknown setting 'colour'"),
        ("name = \"a\"\n\n[limits]\nfoo = 1\n", "line 4", "unknown setting 'foo' in [limits]"),
        ("name = \"a\"\nname = \"b\"\n", "line 2", "cannot redefine"),
        ("name = \"unterminated\nport = 1\n", "line 1", "Error while parsing"),
        ("discovery = \"yes\"\n", "line 1", "true or false"),
        ("name = \"\"\n", "line 1", "1 to 64 bytes"),
        ("limits = 3\n", "line 1", "must be a table"),
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
}
