import Foundation
import Glibc
import PeershareCore
import PeershareSpec
import SodiumKit
import Testing

/// LocalSend CVE-2025-54792 (spoofed discovery leading to a man in the middle): the spoofed
/// announcement itself is the LAN lab's (hostile-inputs.md item 29). Here: a real sender that
/// has key X pinned for an address and reaches a peer with key Y there must abort, and never
/// show a pairing code to that peer.
@Suite("Pin mismatch (LocalSend CVE-2025-54792)", .serialized, .lab("pin"))
struct PinMismatchTests {
    @Test("Regression LocalSend CVE-2025-54792: a sender whose pin for the address says another key aborts",
          arguments: [SpecHandshake.known, SpecHandshake.pair])
    func impostorAtPinnedAddress(_ answeredMode: UInt8) async throws {
        let modeName = answeredMode == SpecHandshake.known ? "known" : "pair"
        let lab = try #require(Lab.current)
        // The honest sender paired with the agent at this address when the lab started. The
        // agent goes away and an impostor with another identity key takes its address.
        if lab.agent.isRunning { lab.agent.stop() }
        let listener = try FakeListener(port: lab.port)
        defer { listener.close() }
        let source = lab.work + "/honest-src/to-impostor-\(modeName)"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try writeFile(source + "/secret-plans.txt", Array("confidential\n".utf8))
        let send = try Subprocess(["send", source, "--to", lab.agent.address, "--home", lab.honestHome, "--name", "honest", "--json"],
                                  environment: lab.environment, logDirectory: lab.logs)
        defer { send.stop() }
        let connection = try await listener.accept(timeout: .seconds(20))
        defer { connection.close() }
        guard case .frame(let m1Bytes) = await connection.readFrame(timeout: .seconds(10)) else {
            throw HarnessError("the sender sent no M1")
        }
        let m1 = try SpecHandshake.M1(parsing: m1Bytes)
        #expect(m1.mode == SpecHandshake.known, "setup: the sender should ask KNOWN (it has a pin for this address)")
        let impostor = SigningKeyPair.generate()
        let m2 = SpecHandshake.m2(mode: answeredMode, nonce: Random.bytes(32), ephemeralKey: KXKeyPair.generate().publicKey,
                                  identityKey: impostor.publicKey)
        try await connection.sendFrame(m2)
        let reply = await connection.readFrame(timeout: .seconds(10))
        connection.close()
        let result = await send.wait(timeout: .seconds(30))
        print("[hostile:pin] impostor answering \(modeName): sender replied \(Outcome(reply)); send exit \(result.status), events \(result.eventNames)")
        if case .frame(let bytes) = reply, bytes.first == 3 {
            Issue.record("""
                CVE-2025-54792 (\(modeName)): the sender has key \(Fingerprint.short(of: lab.agent.publicKey)) pinned for \
                \(lab.agent.address), was answered by key \(Fingerprint.short(of: impostor.publicKey)), and went on to pair with it \
                (sent M3: its encrypted offer summary; showed a pairing code) instead of aborting
                """)
        } else if case .frame(let bytes) = reply, let notice = AbortNotice(bytes) {
            #expect(notice.reason == AbortNotice.security, "the sender's abort reason is \(notice.reason), expected 7 (security)")
        } else {
            Issue.record("CVE-2025-54792 (\(modeName)): expected the sender's security abort, got \(Outcome(reply))")
        }
        #expect(!result.eventNames.contains("code"), "CVE-2025-54792 (\(modeName)): the sender showed a pairing code for an impostor")
        let kind = result.events.last?["kind"] as? String
        #expect(result.exited(9) && kind == "security",
                "CVE-2025-54792 (\(modeName)): expected a security error (exit 9), got exit \(result.status), kind \(kind ?? "-")\n\(result)")
    }
}
