import Foundation
import Testing

/// `peershare trust --json` / `trusted --json`: a pin with its policy.
struct PolicyInfo: Decodable, Equatable {
    struct Policy: Decodable, Equatable {
        var accept: String?
        var maxSize: UInt64?
        var inbox: String?
    }
    var name: String
    var policy: Policy?
}

/// Per-peer folders (the `{peer}` inbox template) and per-peer policies (`peershare trust`).
extension EndToEnd {
    @Test("inbox template: each sender's files go to a folder of its own, its name made safe as one path component; a declined offer makes none")
    func inboxTemplatePerPeer() async throws {
        let scratch = try Self.scratch("template")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/docs"
        try StandardTree.buildSmall(at: source)
        let base = scratch.root + "/in"
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root, inbox: base + "/{peer}/new")
        defer { receiver.stop() }
        let kim = try SenderHome(name: "kim", in: scratch.root)
        let odd = try SenderHome(name: "../.odd/x", in: scratch.root)

        // An offer that is declined (never proven) makes no folder.
        let zed = try SenderHome(name: "zed", in: scratch.root)
        let declined = try zed.startSend([source], to: receiver)
        _ = try await pairingCode(of: declined)
        _ = try await waitForOffer(on: receiver, needsCode: true)
        #expect(try await receiver.decline().exited(0))
        #expect(try await declined.wait(timeout: .seconds(20)).exited(4))
        #expect(!FileManager.default.fileExists(atPath: base + "/zed"))
        #expect(try await finishWithCode(kim.startSend([source], to: receiver), on: receiver).exited(0))
        #expect(try await finishWithCode(odd.startSend([source], to: receiver), on: receiver).exited(0))
        #expect(directoryNames(base) == ["_._.odd_x", "kim"], "\(directoryNames(base))")
        try expectSameTree(source, base + "/kim/new/docs")
        try expectSameTree(source, base + "/_._.odd_x/new/docs")
        // Paired now: the folder follows the pinned peer too.
        #expect(try await kim.startSend([source], to: receiver).wait(timeout: .seconds(30)).exited(0))
        #expect(directoryNames(base + "/kim/new") == ["docs", "docs (2)"])
    }

    @Test("trust PEER: accept auto / never / ask, --max-size and --inbox rule a paired peer's offers; trusted --json carries the policy; a peer without one follows --ask-paired")
    func peerPolicies() async throws {
        let scratch = try Self.scratch("policy")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/docs"
        try StandardTree.buildSmall(at: source)
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root, options: ["--ask-paired"])
        defer { receiver.stop() }
        let sender = try SenderHome(name: "pat", in: scratch.root)
        #expect(try await finishWithCode(sender.startSend([source], to: receiver), on: receiver).exited(0))
        func trust(_ options: [String]) async throws -> CommandResult {
            try await CLI.run(["trust", "pat", "--home", receiver.home, "--json"] + options)
        }

        // auto: no question, despite --ask-paired.
        let auto = try await trust(["--accept", "auto"])
        #expect(auto.exited(0) && decodeJSON(PolicyInfo.self, auto.stdout)?.policy == .init(accept: "auto"), "\(auto)")
        #expect(try await sender.startSend([source], to: receiver).wait(timeout: .seconds(30)).exited(0))

        // never: refused at once (exit 4), recorded as declined.
        #expect(try await trust(["--accept", "never"]).exited(0))
        let never = try await sender.startSend([source], to: receiver).wait(timeout: .seconds(30))
        #expect(never.exited(4), "\(never)")
        #expect(try await poll(timeout: .seconds(5)) { receiver.errors.contains("by the policy for this peer: this receiver does not accept offers from you") ? true : nil } == true, "\(receiver.transcript)")

        // max-size: a larger offer is refused, naming the limit.
        #expect(try await trust(["--accept", "auto", "--max-size", "1K"]).exited(0))
        let big = try await sender.startSend([source], to: receiver).wait(timeout: .seconds(30))
        #expect(big.exited(4), "\(big)")
        #expect(try await poll(timeout: .seconds(5)) { receiver.errors.contains("larger than the 1.0 KiB this receiver accepts from you") ? true : nil } == true, "\(receiver.transcript)")

        // Its own inbox; default (no policy) asks again under --ask-paired.
        let own = scratch.root + "/pat-files"
        #expect(try await trust(["--max-size", "none", "--inbox", own]).exited(0))
        #expect(try await sender.startSend([source], to: receiver).wait(timeout: .seconds(30)).exited(0))
        try expectSameTree(source, own + "/docs")
        let reset = try await trust(["--reset"])
        #expect(reset.exited(0) && decodeJSON(PolicyInfo.self, reset.stdout)?.policy == nil, "\(reset)")
        let asked = try sender.startSend([source], to: receiver)
        _ = try await waitForOffer(on: receiver, needsCode: false)
        #expect(try await receiver.accept().exited(0))
        #expect(try await asked.wait(timeout: .seconds(30)).exited(0))

        let history = try await CLI.history(home: receiver.home, count: 6)
        #expect(history.map(\.outcome) == ["received", "received", "declined", "declined", "received", "received"], "\(history)")
        let listed = try await CLI.run(["trusted", "--home", receiver.home, "--json"])
        #expect(decodeJSON([PolicyInfo].self, listed.stdout) == [PolicyInfo(name: "pat", policy: nil)], "\(listed)")
    }

    @Test("trust: an unknown peer is a usage error; a corrupt trust store is an error naming it, never an empty list")
    func trustFailsClosed() async throws {
        let scratch = try Self.scratch("trust-errors")
        defer { scratch.remove() }
        let home = scratch.root + "/r.home"
        let unknown = try await CLI.run(["trust", "nobody", "--home", home, "--accept", "auto"])
        #expect(unknown.exited(2) && unknown.stderr.contains("No paired peer matches"), "\(unknown)")
        try FileManager.default.createDirectory(atPath: home + "/state", withIntermediateDirectories: true)
        chmod(home + "/state", 0o700)
        try "[{\"publicKey\": 1".write(toFile: home + "/state/trusted.json", atomically: true, encoding: .utf8)
        let corrupt = try await CLI.run(["trust", "pat", "--home", home, "--accept", "auto"])
        #expect(corrupt.exited(8) && corrupt.stderr.contains("trusted.json"), "\(corrupt)")
        let bad = try await CLI.run(["trust", "pat", "--home", home, "--max-size", "lots"])
        #expect(bad.exited(2), "\(bad)")
    }
}
