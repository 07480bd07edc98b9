import Foundation
import Glibc
import PeershareCore
import SodiumKit
import Testing

/// One regression test per class of published advisory in LAN and peer-to-peer transfer
/// tools (hostile-inputs.md). KDE Connect CVE-2020-26164 is in `ConnectionLimitTests`, LocalSend
/// CVE-2025-54792 in `PinMismatchTests`.
@Suite("Advisory regressions", .serialized, .lab("cve"))
struct AdvisoryTests {
    /// Sends `entries` after an OFFER of top-level `names`; returns the agent's final answer.
    static func attempt(_ lab: Lab, names: [String], files: UInt64 = 1, directories: UInt64 = 2, symlinks: UInt64 = 0,
                        total: UInt64 = 5, _ steps: [Step]) async throws -> Outcome {
        let session = try await lab.hostile.openAccepted(
            port: lab.port, offer: Raw.offer(files: files, directories: directories, symlinks: symlinks, total: total, names: names))
        try await session.perform(steps)
        let outcome = await session.finalAnswer()
        session.close()
        return outcome
    }

    /// The path rule that refuses a traversal path: absolute, or a `..` component.
    static func traversalRule(_ path: String) -> String {
        path.hasPrefix("/") ? "invalid path: absolute path '\(path)'" : "invalid path: '.' or '..' component in '\(path)'"
    }

    // MARK: LocalSend CVE-2025-27142, Warpinator CVE-2022-42725: ../ in a relative path

    @Test("Regression LocalSend CVE-2025-27142 / Warpinator CVE-2022-42725: ../ traversal", arguments: 0..<5)
    func dotDotTraversal(_ variant: Int) async throws {
        let lab = try #require(Lab.current)
        let paths = ["../outside/pwned-localsend", "d/../../outside/pwned", "../../tmp/x", "d/e/../../../outside/secret.txt", "../inbox/../outside/x"]
        let probe = lab.begin("CVE-2025-27142/CVE-2022-42725 \(paths[variant])")
        let outcome = try await Self.attempt(lab, names: ["d"], [.message(Raw.directory("d")), .message(Raw.directory("d/e")),
                                                                 .message(Raw.file(paths[variant], size: 5)), .message(Raw.data(Raw.pattern(5)))])
        lab.expectRejected(outcome, probe.label, .protocolError("invalid path: '.' or '..' component in '\(paths[variant])'"))
        await lab.finish(probe, outcome: outcome)
    }

    @Test("Regression LocalSend CVE-2025-27142: a top-level name of .. in the offer")
    func dotDotTopLevel() async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("CVE-2025-27142 offered top-level ..")
        let session = try await lab.hostile.openKnown(port: lab.port)
        let outcome = try await session.offer(Raw.offer(files: 1, total: 5, names: [".."]))
        session.close()
        lab.expectRejected(outcome, probe.label, .badOffer("bad offer: invalid path: '.' or '..' component in '..'"))
        await lab.finish(probe, outcome: outcome)
    }

    // MARK: Warpinator CVE-2023-29380: cleanup deleting outside the destination

    @Test("Regression Warpinator CVE-2023-29380: cleanup after a directory is swapped for a symlink deletes nothing outside")
    func cleanupThroughSwappedSymlink() async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("CVE-2023-29380 cleanup through a swapped-in symlink")
        let session = try await lab.hostile.openAccepted(
            port: lab.port, offer: Raw.offer(files: 1, directories: 2, total: 70_000, names: ["c"]))
        // outside/victim holds an empty sub/ and keep.txt: the same shape as what the offer made.
        // keep.txt is above the 64 KiB limit of nameless files, so its temp name shows it is open.
        try await session.perform([.message(Raw.directory("c")), .message(Raw.directory("c/sub")),
                                   .message(Raw.file("c/keep.txt", size: 70_000)), .message(Raw.data(Raw.pattern(10)))])
        let opened = await DestinationTests.waitForTemporaryFile(in: lab.inbox + "/c")
        try #require(opened, "the agent did not start the file")
        #expect(DestinationTests.swapForSymlink(lab, "c"))
        try await session.perform([.message(Raw.file("c/../../outside", size: 1))])
        let outcome = await session.finalAnswer()
        session.close()
        lab.expectRejected(outcome, probe.label, .protocolError("invalid path: '.' or '..' component in 'c/../../outside'"))
        // finish() compares outside/ (victim/sub, victim/keep.txt) before and after.
        let leftovers = Set(lab.newEntries(since: probe).keys.filter { !$0.starts(with: Array("c.moved".utf8)) })
        #expect(leftovers == [Array("c".utf8)], "unexpected entries: \(leftovers.map(shown).sorted())")
        await lab.finish(probe, outcome: outcome, expect: .checkedByTest)
    }

    @Test("Regression Warpinator CVE-2023-29380: cleanup of a tree renamed away from a planted link removes only its own directories")
    func cleanupBesidePlantedLink() async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("CVE-2023-29380 cleanup beside inbox/link -> ../outside")
        // Placed as "link (2)"; a cleanup by the original names would rmdir link/victim/sub = outside/victim/sub.
        let outcome = try await Self.attempt(lab, names: ["link"], files: 1, directories: 3, total: 5, [
            .message(Raw.directory("link")), .message(Raw.directory("link/victim")), .message(Raw.directory("link/victim/sub")),
            .message(Raw.file("link/victim/sub/f", size: 5)), .message(Raw.data(Raw.pattern(2))), .message(Raw.file("link/../x", size: 1)),
        ])
        lab.expectRejected(outcome, probe.label, .protocolError("invalid path: '.' or '..' component in 'link/../x'"))
        await lab.finish(probe, outcome: outcome)
    }

    // MARK: croc CVE-2023-43619: writing ~/.ssh/authorized_keys through a path

    @Test("Regression croc CVE-2023-43619: no write into ~/.ssh/authorized_keys", arguments: 0..<5)
    func authorizedKeys(_ variant: Int) async throws {
        let lab = try #require(Lab.current)
        let target = lab.home + "/.ssh/authorized_keys"
        let paths = ["../home/.ssh/authorized_keys", "d/../../home/.ssh/authorized_keys", target, "/root/.ssh/authorized_keys",
                     "d/e/../../../home/.ssh/authorized_keys"]
        let probe = lab.begin("CVE-2023-43619 \(paths[variant])")
        let key = Array("ssh-ed25519 AAAAattacker attacker@evil\n".utf8)
        let outcome = try await Self.attempt(lab, names: ["d"], total: UInt64(key.count), [
            .message(Raw.directory("d")), .message(Raw.directory("d/e")),
            .message(Raw.file(paths[variant], size: UInt64(key.count))), .message(Raw.data(key)),
        ])
        lab.expectRejected(outcome, probe.label, .protocolError(Self.traversalRule(paths[variant])))
        await lab.finish(probe, outcome: outcome)
    }

    @Test("Regression croc CVE-2023-43619: a symlink to ~/.ssh inside the tree is refused")
    func authorizedKeysThroughSymlink() async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("CVE-2023-43619 symlink d/e/k -> ../../../home/.ssh, then d/e/k/authorized_keys")
        let outcome = try await Self.attempt(lab, names: ["d"], files: 1, directories: 2, symlinks: 1, total: 4, [
            .message(Raw.directory("d")), .message(Raw.directory("d/e")), .message(Raw.symlink("d/e/k", target: "../../../home/.ssh")),
            .message(Raw.file("d/e/k/authorized_keys", size: 4)), .message(Raw.data(Array("evil".utf8))),
        ])
        lab.expectRejected(outcome, probe.label,
                           .protocolError("invalid symlink target: symlink target '../../../home/.ssh' points outside the received tree"))
        await lab.finish(probe, outcome: outcome)
    }

    @Test("Regression croc CVE-2023-43619: through a planted link inbox/homelink -> ../home, the write stays in the inbox")
    func authorizedKeysThroughPlantedLink() async throws {
        let lab = try #require(Lab.current)
        #expect(symlink("../home", lab.inbox + "/homelink") == 0)
        let probe = lab.begin("CVE-2023-43619 planted inbox/homelink -> ../home")
        let outcome = try await Self.attempt(lab, names: ["homelink"], files: 1, directories: 2, total: 4, [
            .message(Raw.directory("homelink")), .message(Raw.directory("homelink/.ssh")),
            .message(Raw.file("homelink/.ssh/authorized_keys", size: 4)), .message(Raw.data(Array("evil".utf8))),
            .final(Raw.end(files: 1, bytes: 4)),
        ])
        // The tree gets a free name beside the link (never merged into what it points at).
        guard case .done = outcome else {
            Issue.record("\(probe.label): expected DONE under a free name, got \(outcome)")
            await lab.finish(probe, outcome: outcome, expect: .checkedByTest)
            return
        }
        #expect(readFileBytes(lab.inbox + "/homelink (2)/.ssh/authorized_keys") == Array("evil".utf8))
        await lab.finish(probe, outcome: outcome, expect: .exactly(Set(["homelink (2)", "homelink (2)/.ssh",
                                                                        "homelink (2)/.ssh/authorized_keys"].map { Array($0.utf8) })))
    }

    @Test("Regression croc CVE-2023-43619: a literal ~ directory is just a name inside the inbox")
    func literalTilde() async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("CVE-2023-43619 literal ~/.ssh/authorized_keys")
        let outcome = try await Self.attempt(lab, names: ["~"], files: 1, directories: 2, total: 4, [
            .message(Raw.directory("~")), .message(Raw.directory("~/.ssh")),
            .message(Raw.file("~/.ssh/authorized_keys", size: 4)), .message(Raw.data(Array("evil".utf8))),
            .final(Raw.end(files: 1, bytes: 4)),
        ])
        guard case .done = outcome else {
            Issue.record("\(probe.label): expected DONE (a valid relative path), got \(outcome)")
            await lab.finish(probe, outcome: outcome, expect: .checkedByTest)
            return
        }
        await lab.finish(probe, outcome: outcome, expect: .exactly(Set(["~", "~/.ssh", "~/.ssh/authorized_keys"].map { Array($0.utf8) })))
    }

    // MARK: croc CVE-2023-43620: ANSI escapes in displayed names

    @Test("Regression croc CVE-2023-43620: an escape sequence in a name is shown escaped, never raw")
    func ansiInEntryName() async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("CVE-2023-43620 escape sequence in a file name")
        let name = "d/\u{1B}]0;pwned\u{07}\u{1B}[2J\u{1B}[1A\rfake.txt"
        let outcome = try await Self.attempt(lab, names: ["d"], files: 1, directories: 1, total: 5, [
            .message(Raw.directory("d")), .message(Raw.file(name, size: 5)),
        ])
        lab.expectRejected(outcome, probe.label,
                           .protocolError("invalid path: control character in 'd/\\x1B]0;pwned\\x07\\x1B[2J\\x1B[1A\\x0Dfake.txt'"))
        await lab.waitForAgentOutput("failed", since: probe, timeout: .seconds(5))
        let output = lab.agentOutput(since: probe)
        #expect(output.contains("\\x1B]0;pwned\\x07\\x1B[2J"), "the agent does not show the name escaped:\n\(DisplayEscape.escape(output))")
        #expect(!lab.agentOutputBytes(since: probe).contains(0x1B), "raw ESC in the agent's output")
        await lab.finish(probe, outcome: outcome)
    }

    @Test("Regression croc CVE-2023-43620: escape sequences in the sender's failure text are shown escaped")
    func ansiInFailureText() async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("CVE-2023-43620 escape sequence in the sender's FAILURE text")
        let text = Array("\u{1B}[2J\u{1B}[31mYOU ARE HACKED\u{202E}txt.exe\u{9B}0m".utf8)
        let outcome = try await Self.attempt(lab, names: ["d"], files: 1, directories: 1, total: 5, [
            .message(Raw.directory("d")), .final(Raw.failure(code: 1, text: text)),
        ])
        // The agent answers with the sender's own reason, escaped.
        lab.expectRejected(outcome, probe.label,
                           .protocolError("The sender stopped: \\x1B[2J\\x1B[31mYOU ARE HACKED\\u{202E}txt.exe\\x9B0m"))
        await lab.waitForAgentOutput("failed", since: probe, timeout: .seconds(5))
        let output = lab.agentOutput(since: probe)
        #expect(output.contains("\\x1B[2J\\x1B[31mYOU ARE HACKED\\u{202E}"), "the agent does not show the text escaped:\n\(DisplayEscape.escape(output))")
        #expect(!lab.agentOutputBytes(since: probe).contains(0x1B), "raw ESC in the agent's output")
        await lab.finish(probe, outcome: outcome)
    }

    @Test("Regression croc CVE-2023-43620: an escape sequence in a pairing offer (M3 summary) never reaches the screen raw")
    func ansiInPairingOffer() async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("CVE-2023-43620 escape sequence in the M3 summary")
        let summary = Raw.summary(sender: Array("mallory\u{1B}[2J".utf8), files: 1, total: 1, names: [Array("x\u{1B}[1A".utf8)])
        let socket = try await PeerSocket.connect(port: lab.port)
        let attempt = SenderAttempt(socket: socket, identity: .generate(), pinnedReceiver: nil, summary: summary)
        try await attempt.sendM1()
        var outcome: Outcome = .timedOut
        if let refused = await attempt.readM2() {
            outcome = refused
        } else if let (_, m3) = try attempt.handleM2() {
            try await socket.sendFrame(m3)
            outcome = Outcome(await socket.readFrame(timeout: .seconds(10)))
        }
        socket.close()
        lab.expectRejected(outcome, probe.label, .abort(AbortNotice.protocolError, "bad offer summary"))
        #expect(!lab.agentOutputBytes(since: probe).contains(0x1B), "raw ESC in the agent's output")
        let offers = await lab.agent.pendingOffers() ?? []
        #expect(offers.isEmpty, "an offer with an escape sequence is pending: \(offers)")
        await lab.finish(probe, outcome: outcome)
    }

    // MARK: magic-wormhole 0.23.0: traversal back after a refactor (absolute and nested ..)

    @Test("Regression magic-wormhole 0.23.0: absolute and nested .. forms", arguments: 0..<6)
    func wormholeTraversal(_ variant: Int) async throws {
        let lab = try #require(Lab.current)
        let paths = [lab.outside + "/wormhole-abs", "d/e/../../../outside/wormhole", "d/./../../x", "/" + lab.outside + "/w",
                     "d/e/f/../../../../outside/w", "d/e/..//../../outside/w"]
        let probe = lab.begin("magic-wormhole 0.23.0 \(paths[variant])")
        let outcome = try await Self.attempt(lab, names: ["d"], [.message(Raw.directory("d")), .message(Raw.directory("d/e")),
                                                                 .message(Raw.file(paths[variant], size: 5)), .message(Raw.data(Raw.pattern(5)))])
        lab.expectRejected(outcome, probe.label, .protocolError(Self.traversalRule(paths[variant])))
        await lab.finish(probe, outcome: outcome)
    }

    // MARK: Syncthing CVE-2017-1000420: a symlink swapped in for a directory

    /// (label, entries after DIR t and DIR t/u, entries the transfer may leave behind, the
    /// agent's answer)
    static let syncthingCases: [(String, [[UInt8]], [String], String)] = [
        ("a directory then a symlink of the same name", [Raw.directory("t/s"), Raw.symlink("t/s", target: "u")], [],
         "duplicate path 't/s'"),
        ("a symlink then a directory of the same name", [Raw.symlink("t/l", target: "u"), Raw.directory("t/l")], ["t", "t/l"],
         "duplicate path 't/l'"),
        ("a symlink then a file under it", [Raw.symlink("t/l", target: "u"), Raw.file("t/l/x", size: 1), Raw.data([1])], ["t", "t/l"],
         "the parent of 't/l/x' was not sent as a directory before it"),
        ("a symlink to .. then a file under it", [Raw.symlink("t/u/l", target: ".."), Raw.file("t/u/l/x", size: 1), Raw.data([1])],
         ["t", "t/u", "t/u/l"], "the parent of 't/u/l/x' was not sent as a directory before it"),
    ]

    @Test("Regression Syncthing CVE-2017-1000420: nothing is written through a symlink that stands where a directory was",
          arguments: 0..<4)
    func syncthingSymlinkForDirectory(_ index: Int) async throws {
        let lab = try #require(Lab.current)
        let (label, entries, mayRemain, answer) = Self.syncthingCases[index]
        let probe = lab.begin("CVE-2017-1000420 \(label)")
        let outcome = try await Self.attempt(lab, names: ["t"], files: 1, directories: 3, symlinks: 1, total: 1,
                                             [.message(Raw.directory("t")), .message(Raw.directory("t/u"))] + entries.map { .message($0) })
        lab.expectRejected(outcome, probe.label, .protocolError(answer))
        // Nothing was written through the link: no x anywhere, and no file under u or t.
        let created = lab.newEntries(since: probe)
        #expect(created.values.allSatisfy { $0.kind != "file" }, "a file was written: \(created.keys.map(shown).sorted())")
        // Entries completed before the refusal stay (see StreamTests.abortAfterACompleteFile);
        // here only the symlink and its directories may.
        #expect(Set(created.keys).isSubset(of: Set(mayRemain.map { Array($0.utf8) })),
                "unexpected entries: \(created.keys.map(shown).sorted())")
        await lab.finish(probe, outcome: outcome, expect: .checkedByTest)
    }
}
