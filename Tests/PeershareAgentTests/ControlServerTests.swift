import Foundation
import Glibc
import Logging
import PeershareCore
import PeershareDiscovery
import SodiumKit
import Testing
@testable import PeershareAgent
@testable import PeershareTransfer

/// The control socket under load (issue 12, item 9): whole replies to slow readers, no
/// subscriber left behind by `events` clients, and a cap on connections.
@Suite("Control socket", .serialized)
struct ControlServerTests {
    /// Fills the agent's peer table with `count` peers whose names JSON-escape to six bytes
    /// a character, so that one `peers` reply is far larger than a socket buffer.
    static func announce(_ count: Int, to agent: Agent) {
        let logger = Logger(label: "control-test")
        for index in 0..<count {
            let key = Hex.encode(Array(repeating: UInt8(index % 251), count: 31) + [UInt8(index / 251)])
            let addresses = (1...8).map {
                DiscoveredAddress(host: "fd00::\(index):\($0)", interfaceIndex: 2, interfaceName: "eth0", isIPv6: true)
            }
            let name = String(format: "%04d", index) + String(repeating: "\u{1}", count: 240)
            let service = DiscoveredService(instanceName: "peer \(index)", hostName: "p\(index).local", port: 4000,
                                            txt: [TXTKeys.publicKey: key, TXTKeys.name: name, TXTKeys.version: "1"],
                                            addresses: Set(addresses))
            agent.directory.apply(.resolved(service, interfaceIndex: 2, protocolIsIPv6: true), hub: nil, logger: logger)
        }
    }

    @Test("A client that reads slowly gets the whole `peers` reply, ending in a newline; the reply is capped with a count of the rest")
    func slowReaderGetsWholeReply() async throws {
        try await ControlFixture.with { fixture in
            Self.announce(ControlServer.maxPeersInReply + 40, to: fixture.agent)
            let client = try UnixClient(path: fixture.socketPath)
            try client.send(#"{"command":"peers"}"# + "\n")
            // Reads nothing while the agent writes and (before the fix) closed the connection.
            try await Task.sleep(for: .seconds(1))
            let (bytes, closed) = await client.readToEnd()
            #expect(closed)
            #expect(bytes.count > 300_000, "the reply must exceed a socket buffer for this test to mean anything: \(bytes.count)")
            #expect(bytes.last == UInt8(ascii: "\n"), "got \(bytes.count) bytes without a final newline")
            let reply = try ControlJSON.decoder().decode(ControlReply.self, from: Data(bytes.dropLast()))
            #expect(reply.peers?.count == ControlServer.maxPeersInReply)
            #expect(reply.truncated == 40)
        }
    }

    @Test("`events` clients that disconnect leave no subscriber behind")
    func eventsSubscribersAreDropped() async throws {
        try await ControlFixture.with { fixture in
            let hub = fixture.agent.hub
            let baseline = hub.subscriberCount
            for _ in 0..<3 {
                var clients: [UnixClient] = []
                for _ in 0..<30 {
                    let client = try UnixClient(path: fixture.socketPath)
                    try client.send(#"{"command":"events"}"# + "\n")
                    clients.append(client)
                }
                #expect(await ControlFixture.eventually { hub.subscriberCount == baseline + 30 }, "subscribed: \(hub.subscriberCount)")
                clients.removeAll()
                #expect(await ControlFixture.eventually { hub.subscriberCount == baseline },
                        "after the clients closed, \(hub.subscriberCount - baseline) subscribers remain")
            }
        }
    }

    @Test("Connections over the cap get a one-line busy error; freed slots serve again; a silent client is closed")
    func connectionCap() async throws {
        try await ControlFixture.with { fixture in
            var holders: [UnixClient] = []
            for _ in 0..<ControlServer.maxConnections {
                let client = try UnixClient(path: fixture.socketPath)
                try client.send(#"{"command":"events"}"# + "\n")
                holders.append(client)
            }
            let hub = fixture.agent.hub
            #expect(await ControlFixture.eventually { hub.subscriberCount == ControlServer.maxConnections })
            for _ in 0..<5 {
                let extra = try UnixClient(path: fixture.socketPath)
                let line = try #require(await extra.readLine(), "an extra client got no answer")
                let reply = try ControlJSON.decoder().decode(ControlReply.self, from: Data(line.utf8))
                #expect(reply.ok == false)
                #expect(reply.kind == .busy)
                #expect(await extra.readToEnd(timeout: 5_000).closed)
            }
            holders.removeAll()
            #expect(await ControlFixture.eventually { hub.subscriberCount == 0 })
            let served = try UnixClient(path: fixture.socketPath)
            try served.send(#"{"command":"status"}"# + "\n")
            let line = try #require(await served.readLine())
            #expect(try ControlJSON.decoder().decode(ControlReply.self, from: Data(line.utf8)).ok)

            let silent = try UnixClient(path: fixture.socketPath)
            let start = ContinuousClock.now
            let (bytes, closed) = await silent.readToEnd(timeout: 20_000)
            #expect(closed && bytes.isEmpty)
            #expect(ContinuousClock.now - start < .seconds(15))
        }
    }
}
