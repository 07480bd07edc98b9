import Foundation
import Glibc

/// How a finished `peershare` subcommand ended, and what it printed.
struct CommandResult: Sendable, CustomStringConvertible {
    let arguments: [String]
    /// The exit status, or the signal number when `signalled`.
    let status: Int32
    let signalled: Bool
    /// True when the harness killed the command because it outlived its timeout.
    let timedOut: Bool
    let stdout: String
    let stderr: String
    let elapsed: Duration

    /// True when the command exited by itself with `code`.
    func exited(_ code: Int32) -> Bool { !signalled && !timedOut && status == code }

    /// The `--json` event lines of stdout.
    var events: [SendEvent] { SendEvent.parse(stdout) }

    /// Events named `name`.
    func events(_ name: String) -> [SendEvent] { events.filter { $0.event == name } }

    var description: String {
        let how = timedOut ? "timed out (killed)" : signalled ? "killed by signal \(status)" : "exit \(status)"
        return "`peershare \(arguments.joined(separator: " "))` \(how) after \(String(format: "%.2f", elapsed.seconds)) s\n"
            + "--- stdout ---\n\(stdout)--- stderr ---\n\(stderr)"
    }
}

/// A `peershare` process started by a test: stdout and stderr go to files in a private
/// directory outside the test's tree (so snapshots never see them), stdin is /dev/null or
/// a pipe. Killed with SIGKILL if still running when released.
final class RunningCommand {
    let arguments: [String]
    let process: Process
    private let logDirectory: String
    let stdoutPath: String
    let stderrPath: String
    let started = ContinuousClock.now
    private var finished: CommandResult?

    /// Starts `peershare ARGUMENTS...`. `input`, if given, becomes the child's stdin;
    /// `environment` is laid over the children's usual environment (nil removes a variable).
    init(_ arguments: [String], input: Pipe? = nil, directory: String? = nil,
         environment overlay: [String: String?] = [:]) throws {
        TestEnvironment.ignoreBrokenPipes
        self.arguments = arguments
        let logs = FileManager.default.temporaryDirectory
            .appendingPathComponent("psit-log-\(UUID().uuidString.prefix(12).lowercased())").path
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        logDirectory = logs
        stdoutPath = logs + "/stdout"
        stderrPath = logs + "/stderr"
        guard FileManager.default.createFile(atPath: stdoutPath, contents: nil),
              FileManager.default.createFile(atPath: stderrPath, contents: nil),
              let out = FileHandle(forWritingAtPath: stdoutPath),
              let err = FileHandle(forWritingAtPath: stderrPath)
        else {
            removeTree(logs)
            throw HarnessError("cannot create the output files in \(logs)")
        }
        process = Process()
        process.executableURL = URL(fileURLWithPath: TestEnvironment.binary)
        process.arguments = arguments
        var environment = TestEnvironment.childEnvironment
        for (key, value) in overlay { environment[key] = value }
        process.environment = environment
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.standardInput = input ?? FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        do {
            try process.run()
        } catch {
            try? out.close()
            try? err.close()
            removeTree(logs)
            throw HarnessError("cannot start \(TestEnvironment.binary) \(arguments.joined(separator: " ")): \(error)")
        }
        try? out.close()
        try? err.close()
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            _ = process.waitBlocking(upTo: .seconds(5))
        }
        removeTree(logDirectory)
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// Everything written to stdout so far.
    var currentStdout: String { Self.read(stdoutPath) }
    /// Everything written to stderr so far.
    var currentStderr: String { Self.read(stderrPath) }
    /// The JSON events printed so far.
    var currentEvents: [SendEvent] { SendEvent.parse(currentStdout) }

    /// Sends `signal` to the process (if it still runs).
    func send(signal: Int32) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// Waits until an event named `name` was printed; nil if the process ended without
    /// printing it or `timeout` passed.
    func waitForEvent(_ name: String, timeout: Duration = .seconds(15)) async throws -> SendEvent? {
        let deadline = ContinuousClock.now + timeout
        while true {
            let running = process.isRunning
            // Read after checking: a process that just exited has flushed everything.
            if let event = currentEvents.first(where: { $0.event == name }) { return event }
            if !running || ContinuousClock.now >= deadline { return nil }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Waits for the process to end; past `timeout` it is killed (SIGKILL) and the result
    /// says `timedOut`.
    func wait(timeout: Duration = .seconds(30)) async throws -> CommandResult {
        if let finished { return finished }
        let ended = try await poll(timeout: timeout, interval: .milliseconds(10)) { process.isRunning ? nil : true } ?? false
        if !ended {
            kill(process.processIdentifier, SIGKILL)
            _ = process.waitBlocking(upTo: .seconds(5))
        }
        let result = CommandResult(
            arguments: arguments,
            status: process.terminationStatus,
            signalled: process.terminationReason == .uncaughtSignal,
            timedOut: !ended,
            stdout: currentStdout,
            stderr: currentStderr,
            elapsed: ContinuousClock.now - started)
        finished = result
        return result
    }

    /// A file's text (empty if unreadable).
    static func read(_ path: String) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Runs `peershare` subcommands to completion.
enum CLI {
    /// Runs `peershare ARGUMENTS...` with stdin from /dev/null and waits for it (killing it
    /// after `timeout`).
    static func run(_ arguments: [String], timeout: Duration = .seconds(20), directory: String? = nil,
                    environment: [String: String?] = [:]) async throws -> CommandResult {
        let command = try RunningCommand(arguments, directory: directory, environment: environment)
        return try await command.wait(timeout: timeout)
    }

    /// `peershare id --home HOME --json` (creates the identity if there is none yet).
    static func identity(home: String) async throws -> IdentityInfo {
        let result = try await run(["id", "--home", home, "--json"])
        guard result.exited(0), let info = decodeJSON(IdentityInfo.self, result.stdout) else {
            throw HarnessError("cannot read the identity in \(home): \(result)")
        }
        return info
    }

    /// `peershare inbox --home HOME --json`.
    static func inbox(home: String) async throws -> [PendingOfferInfo] {
        let result = try await run(["inbox", "--home", home, "--json"])
        guard result.exited(0), let offers = decodeJSON([PendingOfferInfo].self, result.stdout) else {
            throw HarnessError("cannot list the pending offers of \(home): \(result)")
        }
        return offers
    }

    /// `peershare trusted --home HOME --json`.
    static func trusted(home: String) async throws -> [TrustedPeerInfo] {
        let result = try await run(["trusted", "--home", home, "--json"])
        guard result.exited(0), let peers = decodeJSON([TrustedPeerInfo].self, result.stdout) else {
            throw HarnessError("cannot list the paired peers of \(home): \(result)")
        }
        return peers
    }
}

extension Process {
    /// Polls `isRunning` (Foundation reaps the child on its own thread) for up to
    /// `timeout`, blocking the caller; true once the process has ended. For `deinit` and
    /// `defer`, which cannot `await`.
    func waitBlocking(upTo timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while isRunning {
            if ContinuousClock.now >= deadline { return false }
            usleep(5_000)
        }
        return true
    }
}
