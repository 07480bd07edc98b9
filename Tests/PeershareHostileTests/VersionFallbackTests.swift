import Foundation
import PeershareCore
import Testing

/// docs/PROTOCOL.md, Versions: a sender offers 1.1; a receiver that speaks only 1.0 refuses
/// it with Abort 5 naming its versions, and the sender dials once more in 1.0. Here a relay
/// in front of the real agent plays the 1.0 receiver's refusal and passes every 1.0
/// connection through, so the rest of the session is the agent's own 1.0 path.
@Suite("Protocol version fallback", .serialized, .lab("ver"))
struct VersionFallbackTests {
    @Test("A 1.1 sender refused by a 1.0 receiver dials again in 1.0 and the transfer completes")
    func senderFallsBackToOnePointZero() async throws {
        let lab = try #require(Lab.current)
        let relay = try FakeListener(port: 0)
        defer { relay.close() }
        let versions = VersionGate(relay: relay, target: lab.port)
        let gate = Task { await versions.run() }
        defer { gate.cancel() }
        let source = lab.work + "/honest-src/old-peer"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try writeFile(source + "/note.txt", Array("to a 1.0 receiver\n".utf8))
        defer { removeTree(source); removeTree(lab.inbox + "/old-peer") }
        let send = try Subprocess(["send", source, "--to", "127.0.0.1:\(relay.port)", "--home", lab.honestHome, "--name", "honest", "--json"],
                                  environment: lab.environment, logDirectory: lab.logs)
        defer { send.stop() }
        let result = await send.wait(timeout: .seconds(60))
        let seen = await versions.seen
        #expect(seen.first == ProtocolVersion.v1_1.rawValue, "the sender offers 1.1 first: \(seen)")
        #expect(seen.count >= 2 && seen.dropFirst().allSatisfy { $0 == ProtocolVersion.v1_0.rawValue },
                "after the refusal every connection offers 1.0: \(seen)")
        #expect(result.exited(0) && result.eventNames.last == "done", "\(result)\n\(lab.agent.transcript)")
        #expect(!result.eventNames.contains("code"), "a paired receiver needs no code in 1.0 either: \(result)")
        #expect(treeListing(lab.inbox + "/old-peer") == treeListing(source))
    }

    @Test("A 1.0 peer is probed in 1.0: its key is proven by its M4, and peers lists it as paired and reachable")
    func probeOfOnePointZeroPeer() async throws {
        let lab = try #require(Lab.current)
        let relay = try FakeListener(port: 0)
        defer { relay.close() }
        let versions = VersionGate(relay: relay, target: lab.port)
        let gate = Task { await versions.run() }
        defer { gate.cancel() }
        // The honest sender's home, paired with the agent, now runs an agent of its own with
        // the relay (the agent, as a 1.0 peer) as a static peer.
        let prober = try await AgentProcess.start(
            name: "honest", home: lab.honestHome, inbox: lab.work + "/honest-inbox", offerTimeout: 30,
            arguments: ["--peer", "127.0.0.1:\(relay.port)"], environment: lab.environment, logs: lab.logs)
        defer { prober.stop() }
        let result = await prober.run(["peers", "--probe", "--json"], timeout: .seconds(60))
        let peers = (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [[String: Any]] ?? []
        let entry = try #require(peers.first { $0["source"] as? String == "static" }, "\(result)")
        #expect(entry["paired"] as? Bool == true && entry["reachable"] as? Bool == true, "\(entry)")
        #expect((entry["note"] as? String)?.contains("protocol 1.0") == true, "\(entry)")
        let seen = await versions.seen
        #expect(seen.contains(ProtocolVersion.v1_1.rawValue) && seen.contains(ProtocolVersion.v1_0.rawValue),
                "each probe offers 1.1, then 1.0 after the refusal: \(seen)")
        await lab.expectHonestPeerServed(after: "probes in 1.0")
    }
}

/// Accepts on `relay`: an M1 of version 2 or more gets the Abort 5 a 1.0 receiver sends
/// (`unsupported protocol version V; supported versions: 1`); a 1.0 M1 is passed on to the
/// agent at `target`, and the connection relayed frame by frame until either side closes.
actor VersionGate {
    let relay: FakeListener
    let target: UInt16
    private(set) var seen: [UInt8] = []

    init(relay: FakeListener, target: UInt16) {
        self.relay = relay
        self.target = target
    }

    func run() async {
        while !Task.isCancelled, let client = try? await relay.accept(timeout: .seconds(60)) {
            guard case .frame(let m1) = await client.readFrame(timeout: .seconds(10)), m1.count > 4 else {
                client.close()
                continue
            }
            seen.append(m1[4])
            if m1[4] >= 2 {
                let text = Array("unsupported protocol version \(m1[4]); supported versions: 1".utf8)
                try? await client.sendFrame([0x7F, 5, UInt8(text.count >> 8), UInt8(text.count & 0xff)] + text)
                client.close()
                continue
            }
            guard let agent = try? await PeerSocket.connect(port: target) else {
                client.close()
                continue
            }
            try? await agent.sendFrame(m1)
            Task.detached { await Self.pump(from: client, to: agent) }
            Task.detached { await Self.pump(from: agent, to: client) }
        }
    }

    private static func pump(from source: PeerSocket, to sink: PeerSocket) async {
        while case .frame(let frame) = await source.readFrame(timeout: .seconds(60)) {
            do { try await sink.sendFrame(frame) } catch { break }
        }
        source.close()
        sink.close()
    }
}
