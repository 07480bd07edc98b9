import Foundation
import Logging
import NIOConcurrencyHelpers
import PeershareCore
import PeershareDiscovery
import SodiumKit
import Testing
@testable import PeershareAgent
@testable import PeershareTransfer

/// A host that announces a peer's key at its own address (issue 12, item 9): the send tries
/// every address recorded for the key and keeps the one whose handshake proves it. Three
/// agents in this process over real TCP on 127.0.0.1: the honest receiver, an impostor with
/// another identity, and the sender, whose peer table gets both records.
@Suite("Sending past an impostor", .serialized)
struct ImpostorFallbackTests {
    /// An agent serving on 127.0.0.1 in its own scratch home.
    final class Served: @unchecked Sendable {
        let root: String
        let agent: Agent
        let port: Int
        private let task: Task<Void, Never>

        var inbox: String { root + "/inbox" }

        init(_ name: String) async throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("psh-imp-\(name)-\(UUID().uuidString.prefix(8))").path
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            var logger = Logger(label: name)
            logger.logLevel = .critical
            var options = AgentOptions(name: name, inbox: root + "/inbox", port: 0)
            options.bindHost = "127.0.0.1"
            let agent = try Agent(paths: StatePaths.resolve(home: root + "/home"), options: options, logger: logger)
            let (ports, portSink) = AsyncStream<Int>.makeStream()
            task = Task {
                try? await agent.serve { portSink.yield($0) }
                portSink.finish()
            }
            var bound: Int?
            for await port in ports {
                bound = port
                break
            }
            self.agent = agent
            guard let bound else { throw ControlTestError("agent \(name) did not listen") }
            port = bound
        }

        func stop() async {
            task.cancel()
            await task.value
            removeTree(root)
        }
    }

    /// A record announcing `key` at 127.0.0.1:`port` under `instance`.
    static func announce(_ key: [UInt8], name: String, instance: String, port: Int, to directory: PeerDirectory) {
        let address = DiscoveredAddress(host: "127.0.0.1", interfaceIndex: 1, interfaceName: "lo", isIPv6: false)
        let service = DiscoveredService(instanceName: instance, hostName: "\(instance).local", port: UInt16(port),
                                        txt: [TXTKeys.publicKey: Hex.encode(key), TXTKeys.name: name, TXTKeys.version: "1"],
                                        addresses: [address])
        directory.apply(.resolved(service, interfaceIndex: 1, protocolIsIPv6: false), hub: nil, logger: Logger(label: "test"))
    }

    /// Sends `file` to the peer named "honest"; a pairing code is typed on `receiver` when shown.
    static func send(_ file: String, from sender: Served, typingCodeOn receiver: Served) async throws(AgentError) -> [TransferEvent] {
        let target = try PeerResolver.resolve("honest", peers: sender.agent.directory.peers)
        let events = NIOLockedValueBox<[TransferEvent]>([])
        _ = try await sender.agent.send(paths: [file], to: target) { event in
            events.withLockedValue { $0.append(event) }
            if case .code(let shown) = event.what, let code = PairingCode(typed: shown.code) {
                Task {
                    for _ in 0..<200 {
                        if (try? await receiver.agent.accept(code: code, offerID: nil)) != nil { return }
                        try? await Task.sleep(for: .milliseconds(50))
                    }
                }
            }
        }
        return events.withLockedValue { $0 }
    }

    static func withAgents(_ body: (Served, Served, Served, String) async throws -> Void) async throws {
        let honest = try await Served("honest")
        let impostor = try await Served("impostor")
        let sender = try await Served("sender")
        let file = sender.root + "/note.txt"
        do {
            try Data("for the honest peer\n".utf8).write(to: URL(fileURLWithPath: file))
            try await body(honest, impostor, sender, file)
        } catch {
            for agent in [honest, impostor, sender] { await agent.stop() }
            throw error
        }
        for agent in [honest, impostor, sender] { await agent.stop() }
    }

    @Test("The impostor's newer record is tried first, skipped with a warning, and the honest address gets the file (pairing, then paired)")
    func honestAddressWins() async throws {
        try await Self.withAgents { honest, impostor, sender, file in
            let honestKey = honest.agent.identity.publicKey
            Self.announce(honestKey, name: "honest", instance: "honest", port: honest.port, to: sender.agent.directory)
            Self.announce(honestKey, name: "honest", instance: "honest (impostor)", port: impostor.port, to: sender.agent.directory)
            let peer = try #require(sender.agent.directory.peers.first)
            #expect(sender.agent.directory.peers.count == 1)
            #expect(peer.port == UInt16(impostor.port), "the newest record names the peer's port")
            #expect(peer.endpoints == [PeerEndpoint(host: "127.0.0.1", port: UInt16(impostor.port)),
                                       PeerEndpoint(host: "127.0.0.1", port: UInt16(honest.port))])
            let impostorAddress = "127.0.0.1:\(impostor.port)"
            for round in ["pairing", "paired"] {
                let events = try await Self.send(file, from: sender, typingCodeOn: honest).map(\.record)
                #expect(events.contains { $0.event == "warning" && $0.address == impostorAddress }, "\(round): \(events.map(\.event))")
                let connected = events.first { $0.event == "connected" }
                #expect(connected?.address == "127.0.0.1:\(honest.port)", "\(round)")
                #expect(connected?.fingerprint == Fingerprint.full(of: honestKey), "\(round)")
                #expect(events.contains { $0.event == "code" } == (round == "pairing"), "\(round)")
            }
            let received = namesIn(honest.inbox).filter { !$0.hasPrefix(".") }
            #expect(received.count == 2 && received.contains("note.txt"), "\(received)")
            #expect(namesIn(impostor.inbox).isEmpty)
        }
    }

    @Test("When no address proves the key, the send fails with the security error, not the last address's")
    func noAddressProvesTheKey() async throws {
        try await Self.withAgents { honest, impostor, sender, file in
            let honestKey = honest.agent.identity.publicKey
            let closedPort = honest.port
            await honest.stop()  // Nothing listens on the honest port any more.
            Self.announce(honestKey, name: "honest", instance: "honest", port: closedPort, to: sender.agent.directory)
            Self.announce(honestKey, name: "honest", instance: "honest (impostor)", port: impostor.port, to: sender.agent.directory)
            do throws(AgentError) {
                _ = try await Self.send(file, from: sender, typingCodeOn: impostor)
                Issue.record("the send to an impostor succeeded")
            } catch {
                #expect(error.kind == .security, "\(error.kind): \(error.message)")
            }
            #expect(namesIn(impostor.inbox).isEmpty)
        }
    }
}
