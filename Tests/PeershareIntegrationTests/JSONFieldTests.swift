import Foundation
import Testing

/// JSON that scripts can use as it is: typed config values, and progress with a rate.
extension EndToEnd {
    /// `config --json`'s settings, each value decoded as the type its key must have (a
    /// value printed as a string fails to decode as a number or a boolean).
    struct TypedConfig: Decodable {
        var port: Int?
        var offerTimeout: Int?
        var askPaired: Bool?
        var interfaces: [String]?
        var name: String?

        private struct Output: Decodable { var settings: [Item] }
        private struct Item: Decodable {
            var key: String
            var port: Int?, flag: Bool?, list: [String]?, text: String?
            enum Keys: String, CodingKey { case key, value }
            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: Keys.self)
                key = try container.decode(String.self, forKey: .key)
                switch key {
                case "port", "offer_timeout", "limits.max_pending_offers": port = try container.decode(Int.self, forKey: .value)
                case "ask_paired": flag = try container.decode(Bool.self, forKey: .value)
                case "discovery_interfaces": list = try container.decode([String].self, forKey: .value)
                default: text = try? container.decode(String.self, forKey: .value)
                }
            }
        }

        init(from decoder: any Decoder) throws {
            let items = try Output(from: decoder).settings
            func item(_ key: String) -> Item? { items.first { $0.key == key } }
            port = item("port")?.port
            offerTimeout = item("offer_timeout")?.port
            askPaired = item("ask_paired")?.flag
            interfaces = item("discovery_interfaces")?.list
            name = item("name")?.text
        }
    }

    @Test("`config --json` prints numbers, booleans and arrays as such")
    func configJSONIsTyped() async throws {
        let scratch = try Self.scratch("config-json")
        defer { scratch.remove() }
        let result = try await CLI.run(["config", "--json", "--home", scratch.root + "/home", "--port", "4000",
                                        "--offer-timeout", "7", "--discovery-interface", "lo", "--name", "zed"])
        #expect(result.exited(0), "\(result)")
        let config = try JSONDecoder().decode(TypedConfig.self, from: Data(result.stdout.utf8))
        #expect(config.port == 4000)
        #expect(config.offerTimeout == 7)
        #expect(config.askPaired == false)
        #expect(config.interfaces == ["lo"])
        #expect(config.name == "zed")
    }

    @Test("`send --json` progress events carry a positive rate and an eta")
    func progressHasRate() async throws {
        let scratch = try Self.scratch("progress-rate")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/big.bin"
        #expect(FileManager.default.createFile(atPath: source, contents: Data(repeating: 0x5A, count: 192 << 20)))
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "s", in: scratch.root)
        let result = try await finishWithCode(try sender.startSend([source], to: receiver), on: receiver)
        #expect(result.exited(0), "\(result)")
        let rated = result.events("progress").filter { $0.rate != nil }
        #expect(!rated.isEmpty, "no progress event with a rate (the transfer took \(result.events("done").first?.seconds ?? -1) s): \(result.events("progress"))")
        for event in rated {
            #expect((event.rate ?? 0) > 0 && (event.eta ?? -1) >= 0, "\(event)")
        }
    }
}
