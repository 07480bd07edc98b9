import Foundation
import Glibc
import Testing

/// State the agent must not trust blindly: a runtime directory others may write to or a
/// symlink in its place, a FIFO as the identity key, and an unreadable trust store each
/// stop the command with an error naming the path, promptly.
extension EndToEnd {
    /// `peershare run --home HOME`, expected to refuse to start.
    private func runRefused(home: String, scratch: Scratch) async throws -> CommandResult {
        let result = try await CLI.run(["run", "--home", home, "--port", "0", "--listen", "127.0.0.1",
                                        "--no-discovery", "--inbox", scratch.path("inbox")], timeout: .seconds(15))
        #expect(!result.timedOut && !result.exited(0), "the agent must refuse to start: \(result)")
        return result
    }

    @Test("`run` refuses a runtime directory others may write to, naming it, and leaves its mode alone")
    func worldWritableRuntimeDirectory() async throws {
        let scratch = try Self.scratch("rundir")
        defer { scratch.remove() }
        let home = try scratch.directory("h")
        #expect(mkdir(home + "/run", 0o700) == 0 && chmod(home + "/run", 0o777) == 0)
        let result = try await runRefused(home: home, scratch: scratch)
        #expect(result.stderr.contains(home + "/run"), "\(result)")
        #expect(result.stderr.contains("chmod 700"), "the error says how to fix it: \(result)")
        var info = stat()
        #expect(lstat(home + "/run", &info) == 0 && info.st_mode & 0o7777 == 0o777)
    }

    @Test("Without --home: `run` refuses $XDG_RUNTIME_DIR/peershare when others may write to it, naming it")
    func worldWritableXDGRuntimeDirectory() async throws {
        let scratch = try Self.scratch("xdgrun")
        defer { scratch.remove() }
        let runtime = try scratch.directory("xdg-runtime")
        #expect(mkdir(runtime + "/peershare", 0o700) == 0 && chmod(runtime + "/peershare", 0o777) == 0)
        let environment: [String: String?] = [
            "HOME": scratch.root, "XDG_RUNTIME_DIR": runtime,
            "XDG_STATE_HOME": try scratch.directory("xdg-state"), "XDG_CONFIG_HOME": try scratch.directory("xdg-config"),
        ]
        let result = try await CLI.run(["run", "--port", "0", "--listen", "127.0.0.1", "--no-discovery", "--inbox", scratch.path("inbox")],
                                       timeout: .seconds(15), environment: environment)
        #expect(!result.timedOut && !result.exited(0), "the agent must refuse to start: \(result)")
        #expect(result.stderr.contains(runtime + "/peershare"), "\(result)")
        var info = stat()
        #expect(lstat(runtime + "/peershare", &info) == 0 && info.st_mode & 0o7777 == 0o777)
    }

    @Test("`run` refuses a symlink as its runtime directory and never changes the target's mode")
    func symlinkedRuntimeDirectory() async throws {
        let scratch = try Self.scratch("runlink")
        defer { scratch.remove() }
        let home = try scratch.directory("h")
        let target = try scratch.directory("shared")
        #expect(chmod(target, 0o1777) == 0)
        #expect(symlink(target, home + "/run") == 0)
        let result = try await runRefused(home: home, scratch: scratch)
        #expect(result.stderr.contains(home + "/run") && result.stderr.contains("symbolic link"), "\(result)")
        var info = stat()
        #expect(stat(target, &info) == 0 && info.st_mode & 0o7777 == 0o1777, "the target must keep mode 1777")
        #expect(directoryNames(target).isEmpty, "no control socket may appear in the target")
    }

    @Test("`run` with a FIFO as identity.key exits at once with an error naming the file")
    func fifoIdentity() async throws {
        let scratch = try Self.scratch("fifo")
        defer { scratch.remove() }
        let home = try scratch.directory("h")
        #expect(mkdir(home + "/state", 0o700) == 0)
        #expect(mkfifo(home + "/state/identity.key", 0o600) == 0)
        let result = try await runRefused(home: home, scratch: scratch)
        #expect(result.elapsed < .seconds(10), "took \(result.elapsed)")
        #expect(result.stderr.contains(home + "/state/identity.key"), "\(result)")
    }

    @Test("A sender whose trust store is corrupt stops with an error naming it, and never shows a code")
    func corruptSenderTrustStore() async throws {
        let scratch = try Self.scratch("trustS")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/docs"
        try StandardTree.buildSmall(at: source)
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "alice", in: scratch.root)
        _ = try await sender.fingerprint()
        try Data("[{\"publicKey\": ".utf8).write(to: URL(fileURLWithPath: sender.home + "/state/trusted.json"))

        let result = try await sender.startSend([source], to: receiver).wait(timeout: .seconds(20))
        #expect(!result.timedOut && !result.exited(0), "\(result)")
        #expect(result.events("code").isEmpty, "no pairing may start: \(result)")
        #expect(result.events("error").last?.message?.contains(sender.home + "/state/trusted.json") == true, "\(result)")
        #expect(receiver.inboxNames().isEmpty)
    }

    @Test("A receiver whose trust store turned corrupt refuses a paired sender's session, naming the file, with no code")
    func corruptReceiverTrustStore() async throws {
        let scratch = try Self.scratch("trustR")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/docs"
        try StandardTree.buildSmall(at: source)
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "alice", in: scratch.root)
        let paired = try await finishWithCode(try sender.startSend([source], to: receiver), on: receiver)
        #expect(paired.exited(0), "\(paired)")

        let trustFile = receiver.home + "/state/trusted.json"
        try Data("not json".utf8).write(to: URL(fileURLWithPath: trustFile))
        let result = try await sender.startSend([source], to: receiver).wait(timeout: .seconds(20))
        #expect(!result.timedOut && !result.exited(0), "\(result)")
        #expect(result.events("code").isEmpty, "the sender must not fall back to pairing: \(result)")
        let shown = try await poll(timeout: .seconds(10), interval: .milliseconds(50)) {
            receiver.errors.contains(trustFile) ? true : nil
        }
        #expect(shown == true, "the receiver's terminal names the file:\n\(receiver.transcript)")
    }
}
