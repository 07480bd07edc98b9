import Foundation
import Testing

/// What a person types wrong, through the real binary: usage errors exit 2 (as the man page
/// says, not ArgumentParser's 64) with a message that names the mistake, and a refused
/// connection is said in words, not as a library's error dump.
extension EndToEnd {
    @Test("Usage errors exit 2 and say what is wrong", arguments: [
        (["send", "file.txt"], "--to"),
        (["--verbos"], "--verbose"),
        (["send", "file.txt", "--to", (1...65).map { "p\($0)" }.joined(separator: ",")], "At most 64 recipients"),
        (["send", "-", "--to", "bob"], "standard input"),
        (["status", "--bogus"], "--bogus"),
    ])
    func usageErrorsExitTwo(arguments: [String], mentions: String) async throws {
        let scratch = try Self.scratch("usage")
        defer { scratch.remove() }
        let result = try await CLI.run(arguments + ["--home", scratch.path("home")])
        #expect(result.exited(2), "\(result)")
        #expect(result.stderr.contains(mentions), "the error must mention \(mentions): \(result)")
    }

    @Test("A mistyped subcommand is named, with the command that was probably meant (exit 2)")
    func unknownSubcommandIsNamed() async throws {
        let result = try await CLI.run(["sned", "x"])
        #expect(result.exited(2), "\(result)")
        #expect(result.stderr.contains("'sned' is not a command"), "\(result)")
        #expect(result.stderr.contains("Did you mean 'send'?"), "\(result)")
        #expect(!result.stderr.contains("peershare run"), "must not answer with run's usage: \(result)")
    }

    @Test("Nothing listening: the sender says so in words and exits 3")
    func refusedConnectionIsSaidInWords() async throws {
        let scratch = try Self.scratch("refused")
        defer { scratch.remove() }
        let file = scratch.path("note.txt")
        #expect(FileManager.default.createFile(atPath: file, contents: Data("hi".utf8)))
        // Port 1 on loopback: nothing listens there, so the kernel refuses at once.
        let result = try await CLI.run(["send", file, "--to", "127.0.0.1:1", "--home", scratch.path("home")])
        #expect(result.exited(3), "\(result)")
        #expect(result.stderr.contains("Nothing is listening on 127.0.0.1:1 (connection refused)"), "\(result)")
        #expect(!result.stderr.contains("SingleConnectionFailure"), "no library dump: \(result)")
    }
}

extension EndToEnd {
    @Test("A second agent on the same home is refused before it prints its banner, naming the first one's pid (exit 11)")
    func secondAgentOnOneHomeIsRefused() async throws {
        let scratch = try Self.scratch("twohome")
        defer { scratch.remove() }
        let first = try await AgentProcess.start(name: "first", in: scratch.root)
        defer { first.stop() }
        let second = try await CLI.run(["run", "--home", first.home, "--port", "0", "--listen", "127.0.0.1",
                                        "--no-discovery", "--name", "second", "--inbox", scratch.path("second.inbox")],
                                       timeout: .seconds(15))
        #expect(second.exited(11), "\(second)")
        #expect(second.stderr.contains("already running") && second.stderr.contains("pid \(first.pid)"), "\(second)")
        #expect(!second.stdout.contains("listening"), "no banner before the refusal: \(second)")
        #expect(first.isRunning, "the first agent must keep running:\n\(first.transcript)")
        let status = try await CLI.run(["status", "--home", first.home, "--json"])
        #expect(status.exited(0) && status.stdout.contains("\"first\""), "the first agent still answers: \(status)")
    }
}

extension EndToEnd {
    @Test("A missing file is named with exit 2, whether the send goes through a running agent or runs its own")
    func missingFileSameErrorBothWays() async throws {
        let scratch = try Self.scratch("nofile")
        defer { scratch.remove() }
        let agent = try await AgentProcess.start(name: "local", in: scratch.root)
        defer { agent.stop() }
        let missing = scratch.path("nope.txt")
        let through = try await CLI.run(["send", missing, "--to", "127.0.0.1:1", "--home", agent.home])
        let alone = try await CLI.run(["send", missing, "--to", "127.0.0.1:1", "--home", scratch.path("alone.home")])
        for result in [through, alone] {
            #expect(result.exited(2), "\(result)")
            #expect(result.stderr.contains("cannot find") && result.stderr.contains("nope.txt"), "\(result)")
            #expect(!result.stderr.contains("without a result"), "\(result)")
        }
    }
}

extension EndToEnd {
    @Test("--json failures are the same error event on stdout for every command, and every event carries its UTC time", arguments: [
        ["status", "--json"], ["inbox", "--json"], ["trusted", "--json"],
    ])
    func jsonErrorsAreEvents(arguments: [String]) async throws {
        let scratch = try Self.scratch("jsonerr")
        defer { scratch.remove() }
        let args = arguments
        // A trust store that is not JSON makes `trusted` fail; no agent makes status and inbox fail.
        try FileManager.default.createDirectory(atPath: scratch.path("home/state"), withIntermediateDirectories: true)
        try Fixture.file(scratch.path("home/state/trusted.json"), text: "not json")
        let result = try await CLI.run(args + ["--home", scratch.path("home")])
        #expect(!result.exited(0), "\(result)")
        let event = try #require(SendEvent.parse(result.stdout).last, "no JSON on stdout: \(result)")
        #expect(event.event == "error" && event.kind != nil && !(event.message ?? "").isEmpty, "\(result)")
        #expect(result.stderr.isEmpty, "nothing in plain text on stderr: \(result)")
        let time = try #require(event.time)
        #expect(time.count == 24 && time.hasSuffix("Z") && time.contains("T"), "\(time)")
    }
}

extension EndToEnd {
    @Test("The commands that need a running agent exit 10 and say how to start one", arguments: [
        ["status"], ["inbox"], ["accept", "123456"], ["decline"],
    ])
    func noAgentExitsTen(arguments: [String]) async throws {
        let scratch = try Self.scratch("noagent")
        defer { scratch.remove() }
        let result = try await CLI.run(arguments + ["--home", scratch.path("home")])
        #expect(result.exited(10), "\(result)")
        #expect(result.stderr.contains("No peershare agent is running") && result.stderr.contains("Start it with"), "\(result)")
    }

    /// Ports below 1024 need privilege an ordinary user does not have (as these tests run);
    /// that is an "other error" (exit 1) that names the port and what to do.
    @Test("An agent that cannot listen exits 1, naming the port and the way out",
          .enabled(if: getuid() != 0 || TestEnvironment.inCI, "root may listen on port 1: run through scripts/test-as-user.sh"))
    func cannotListenExitsOne() async throws {
        let scratch = try Self.scratch("noport")
        defer { scratch.remove() }
        let result = try await CLI.run(["run", "--home", scratch.path("home"), "--port", "1", "--listen", "127.0.0.1",
                                        "--no-discovery", "--inbox", scratch.path("inbox")], timeout: .seconds(15))
        #expect(result.exited(1), "\(result)")
        #expect(result.stderr.contains("Cannot listen on port 1") && result.stderr.contains("--port"), "\(result)")
    }
}
