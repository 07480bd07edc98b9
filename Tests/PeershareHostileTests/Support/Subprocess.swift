import Foundation
import Glibc

/// A `peershare` child process: stdout and stderr go to files under the lab's private log
/// directory (never into a snapshotted tree), stdin is a pipe kept open or /dev/null.
///
/// Stopped only by its own pid (SIGTERM, a grace period, then SIGKILL), also from `deinit`,
/// so no child outlives the test that started it.
final class Subprocess: @unchecked Sendable {
    let arguments: [String]
    let process = Process()
    let stdoutPath: String
    let stderrPath: String
    private let input: Pipe?
    let started = ContinuousClock.now
    private let lock = NSLock()
    private var stoppedStatus: Int32?

    /// Starts `peershare ARGUMENTS...` with `environment`. `keepInputOpen` gives the child a
    /// pipe as stdin that stays open (an idle terminal); otherwise stdin is /dev/null.
    init(_ arguments: [String], environment: [String: String], logDirectory: String, keepInputOpen: Bool = false) throws {
        self.arguments = arguments
        let id = UUID().uuidString.prefix(8).lowercased()
        stdoutPath = logDirectory + "/\(id).out"
        stderrPath = logDirectory + "/\(id).err"
        guard FileManager.default.createFile(atPath: stdoutPath, contents: nil),
              FileManager.default.createFile(atPath: stderrPath, contents: nil),
              let out = FileHandle(forWritingAtPath: stdoutPath),
              let err = FileHandle(forWritingAtPath: stderrPath)
        else { throw HarnessError("cannot create log files in \(logDirectory)") }
        input = keepInputOpen ? Pipe() : nil
        process.executableURL = URL(fileURLWithPath: HostileEnvironment.binary)
        process.arguments = arguments
        process.environment = environment
        process.standardInput = input ?? FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        do {
            try process.run()
        } catch {
            try? out.close()
            try? err.close()
            throw HarnessError("cannot start \(HostileEnvironment.binary) \(arguments.joined(separator: " ")): \(error)")
        }
        try? out.close()
        try? err.close()
    }

    deinit { stop(grace: .seconds(2)) }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    var stdoutBytes: [UInt8] { readFileBytes(stdoutPath) ?? [] }
    var stderrBytes: [UInt8] { readFileBytes(stderrPath) ?? [] }
    var stdout: String { String(decoding: stdoutBytes, as: UTF8.self) }
    var stderr: String { String(decoding: stderrBytes, as: UTF8.self) }

    /// Waits for the process to end; after `timeout` it is killed (by its pid) and
    /// `timedOut` is set.
    func wait(timeout: Duration) async -> CommandResult {
        let deadline = ContinuousClock.now + timeout
        var timedOut = false
        while process.isRunning {
            if ContinuousClock.now >= deadline {
                timedOut = true
                stop(grace: .seconds(1))
                break
            }
            if !(await pause(.milliseconds(10))) {
                timedOut = true
                stop(grace: .seconds(1))
                break
            }
        }
        return CommandResult(arguments: arguments, status: process.isRunning ? -1 : process.terminationStatus,
                             timedOut: timedOut, stdout: stdout, stderr: stderr,
                             elapsed: ContinuousClock.now - started)
    }

    /// SIGTERM to this pid, up to `grace` to exit, then SIGKILL to this pid. Idempotent.
    func stop(grace: Duration = .seconds(5)) {
        lock.lock()
        defer { lock.unlock() }
        if stoppedStatus != nil { return }
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            if !Self.waitBlocking(process, upTo: grace) {
                kill(process.processIdentifier, SIGKILL)
                _ = Self.waitBlocking(process, upTo: .seconds(5))
            }
        }
        try? input?.fileHandleForWriting.close()
        stoppedStatus = process.isRunning ? -1 : process.terminationStatus
    }

    private static func waitBlocking(_ process: Process, upTo timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline { return false }
            usleep(5_000)
        }
        return true
    }
}

/// How a finished subcommand ended and what it printed.
struct CommandResult: Sendable, CustomStringConvertible {
    let arguments: [String]
    let status: Int32
    let timedOut: Bool
    let stdout: String
    let stderr: String
    let elapsed: Duration

    func exited(_ code: Int32) -> Bool { !timedOut && status == code }

    /// The JSON event lines of `send --json`.
    var events: [[String: Any]] {
        stdout.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }

    var eventNames: [String] { events.compactMap { $0["event"] as? String } }

    var description: String {
        let how = timedOut ? "timed out" : "exit \(status)"
        return "`peershare \(arguments.joined(separator: " "))` \(how) after \(elapsed)\n--- stdout ---\n\(stdout)--- stderr ---\n\(stderr)"
    }
}
