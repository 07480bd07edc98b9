import Foundation
import PeershareCore
import SodiumKit
import Testing

/// First contact cannot be blocked by someone without a code (issue 12, item 2): offers held
/// open from many source addresses never keep an honest first-contact offer off the person's
/// screen, and never evict it once shown.
@Suite("Offer board fairness", .serialized, .lab("board", offerTimeout: 180))
struct OfferBoardTests {
    /// A PAIR offer from `source` with a fresh identity, M3 sent, its socket kept open.
    static func openOffer(_ lab: Lab, from source: String) async throws -> PeerSocket {
        let summary = Raw.summary(sender: "squatter", names: ["squat.txt"])
        let socket = try await PeerSocket.connect(port: lab.port, source: source)
        let attempt = SenderAttempt(socket: socket, identity: .generate(), pinnedReceiver: nil, summary: summary)
        try await attempt.sendM1()
        if let refused = await attempt.readM2() { throw HarnessError("offer from \(source): no M2 but \(refused)") }
        guard let (_, m3) = try attempt.handleM2() else { throw HarnessError("offer from \(source): KNOWN") }
        try await socket.sendFrame(m3)
        return socket
    }

    /// Waits until `peershare inbox` lists `count` offers (or the deadline); returns them.
    static func waitForPending(_ lab: Lab, count: Int, timeout: Duration = .seconds(20)) async -> [[String: Any]] {
        let deadline = ContinuousClock.now + timeout
        var offers = await lab.agent.pendingOffers() ?? []
        while offers.count != count && ContinuousClock.now < deadline {
            _ = await pause(.milliseconds(100))
            offers = await lab.agent.pendingOffers() ?? []
        }
        return offers
    }

    /// The abort notices that arrived on `sockets` (nil where none came within a moment).
    static func notices(_ sockets: [PeerSocket]) async -> [AbortNotice?] {
        var result: [AbortNotice?] = []
        for socket in sockets {
            if case .frame(let bytes) = await socket.readFrame(timeout: .milliseconds(20)) {
                result.append(AbortNotice(bytes))
            } else {
                result.append(nil)
            }
        }
        return result
    }

    @Test("Offers held open from 16 addresses (2 each, a full board) cannot stop a first contact from being shown and approved, nor evict it")
    func firstContactSurvivesSquatters() async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("item 2 first contact against 32 offers from 16 addresses")
        var squatters: [PeerSocket] = []
        defer { squatters.forEach { $0.close() } }
        for host in 20..<36 {
            for _ in 0..<2 { squatters.append(try await Self.openOffer(lab, from: "127.0.0.\(host)")) }
        }
        let full = await Self.waitForPending(lab, count: 32)
        #expect(full.count == 32, "item 2: \(full.count) offers pending, expected a full board of 32")

        // The honest first contact: a real `peershare send` from a home that never paired.
        let source = lab.work + "/honest-src/first-contact"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try writeFile(source + "/hello.txt", Array("hello\n".utf8))
        defer { removeTree(source) }
        let send = try Subprocess(["send", source, "--to", lab.agent.address, "--home", lab.work + "/newcomer.home",
                                   "--name", "newcomer", "--json"], environment: lab.environment, logDirectory: lab.logs)
        var code: String?
        let codeDeadline = ContinuousClock.now + .seconds(30)
        while code == nil, send.isRunning, ContinuousClock.now < codeDeadline {
            for line in send.stdout.split(separator: "\n") {
                if let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
                   object["event"] as? String == "code" {
                    code = object["code"] as? String
                }
            }
            if code == nil { _ = await pause(.milliseconds(20)) }
        }
        let shownCode = try #require(code, "item 2: the first-contact sender showed no code: \(send.stdout)\(send.stderr)")
        var newcomer: [String: Any]?
        let listDeadline = ContinuousClock.now + .seconds(10)
        while newcomer == nil && ContinuousClock.now < listDeadline {
            newcomer = (await lab.agent.pendingOffers() ?? []).first { $0["peer"] as? String == "newcomer" }
            if newcomer == nil { _ = await pause(.milliseconds(100)) }
        }
        let offerID = try #require(newcomer?["id"] as? String, "item 2: the first contact was not shown to the person\n\(lab.agent.transcript)")
        // One squatter's second offer made room, and its sender was told why.
        let evicted = await Self.notices(squatters).compactMap { $0 }
        #expect(evicted.count == 1 && evicted.first?.reason == AbortNotice.busy
                && evicted.first?.text.hasPrefix("evicted: the receiver's offer board is full") == true,
                "item 2: expected one squatter offer evicted with a reason, got \(evicted)")

        // The squatters renew from 16 new addresses: 15 evict their own second offers, the
        // 16th finds only single offers and is refused; the first contact stays.
        var renewals: [PeerSocket] = []
        defer { renewals.forEach { $0.close() } }
        for host in 36..<52 { renewals.append(try await Self.openOffer(lab, from: "127.0.0.\(host)")) }
        _ = await pause(.milliseconds(500))
        let renewalAnswers = await Self.notices(renewals)
        #expect(renewalAnswers.prefix(15).allSatisfy { $0 == nil }, "item 2: renewals 1-15 should be shown: \(renewalAnswers)")
        #expect(renewalAnswers.last??.reason == AbortNotice.busy
                && renewalAnswers.last??.text == "too many offers are waiting for a decision (32, from as many addresses); try again later",
                "item 2: the 16th renewal should be refused as busy: \(String(describing: renewalAnswers.last))")
        let still = await lab.agent.pendingOffers() ?? []
        #expect(still.contains { $0["id"] as? String == offerID }, "item 2: the first contact was evicted")

        let accepted = await lab.agent.run(["accept", shownCode, "--offer", offerID])
        #expect(accepted.exited(0), "item 2: accept failed: \(accepted)")
        let result = await send.wait(timeout: .seconds(30))
        #expect(result.exited(0) && result.eventNames.last == "done",
                "item 2: the first contact did not complete: \(result)\n\(lab.agent.transcript)")
        print("[hostile:board] item 2: first contact \(result.exited(0) ? "approved and received" : "failed") against 16 + 16 squatter addresses")
        squatters.forEach { $0.close() }
        renewals.forEach { $0.close() }
        let cleared = await Self.waitForPending(lab, count: 0)
        #expect(cleared.isEmpty, "item 2: withdrawn offers still pending")
        removeTree(lab.inbox + "/first-contact")
        await lab.finish(probe, outcome: nil)
    }
}
