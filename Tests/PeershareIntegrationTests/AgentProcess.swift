import Foundation
import Glibc

/// A real `peershare run` agent in its own process, with its own home (`--home`, a fresh
/// directory), listening on 127.0.0.1 on a free port without discovery. Its stdin is a pipe
/// (tests type codes and y/n into it); stdout and stderr go to files.
///
/// Stop it with `stop()` in a `defer` right after `start`; `deinit` stops it too, so an
/// agent never outlives its test: SIGTERM, a grace period, then SIGKILL. Stopping removes
/// its home directory.
final class AgentProcess {
    let name: String
    let home: String
    let inbox: String
    private(set) var port = 0
    private(set) var fingerprint = ""
    private let input = Pipe()
    private let command: RunningCommand
    private var stopped: StopResult?

    /// How a stopped agent ended.
    struct StopResult: Sendable {
        /// Exit status, or signal number when `signalled`.
        var status: Int32
        var signalled: Bool
        /// False when SIGTERM was not enough and SIGKILL was needed.
        var graceful: Bool
    }

    /// `127.0.0.1:PORT`, for `send --to`.
    var address: String { "127.0.0.1:\(port)" }

    /// Starts an agent named `name` with its home at `root/NAME.home` and its inbox at
    /// `inbox` (default `root/NAME.inbox`), plus `options` (e.g. `--ask-paired`), and waits
    /// until `peershare status --json` answers with its port.
    static func start(name: String, in root: String, inbox: String? = nil, options: [String] = [],
                      timeout: Duration = .seconds(20)) async throws -> AgentProcess {
        let agent = try AgentProcess(name: name, home: root + "/\(name).home",
                                     inbox: inbox ?? root + "/\(name).inbox", options: options)
        do {
            try await agent.waitUntilReady(timeout: timeout)
        } catch {
            agent.stop()
            throw error
        }
        return agent
    }

    private init(name: String, home: String, inbox: String, options: [String]) throws {
        self.name = name
        self.home = home
        self.inbox = inbox
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let arguments = ["run", "--home", home, "--port", "0", "--listen", "127.0.0.1",
                         "--inbox", inbox, "--no-discovery", "--name", name] + options
        command = try RunningCommand(arguments, input: input)
    }

    deinit {
        stop()
    }

    /// Polls `status --json` until it reports a port, failing early if the agent exits.
    private func waitUntilReady(timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        var last: CommandResult?
        while ContinuousClock.now < deadline {
            guard command.isRunning else {
                throw HarnessError("agent \(name) exited before it was ready:\n\(transcript)")
            }
            let result = try await CLI.run(["status", "--home", home, "--json"], timeout: .seconds(5))
            if result.exited(0), let status = decodeJSON(AgentStatus.self, result.stdout), status.port > 0 {
                port = status.port
                fingerprint = status.fingerprint
                return
            }
            last = result
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError("agent \(name) was not ready within \(timeout); last status: \(last.map { "\($0)" } ?? "none")\n\(transcript)")
    }

    /// Types `line` (a newline is added) on the agent's terminal.
    func type(_ line: String) throws {
        try input.fileHandleForWriting.write(contentsOf: Data((line + "\n").utf8))
    }

    /// What the agent printed so far on stdout.
    var output: String { command.currentStdout }
    /// What the agent printed so far on stderr.
    var errors: String { command.currentStderr }
    var isRunning: Bool { command.isRunning }
    var pid: Int32 { command.pid }

    /// Both outputs, for failure messages.
    var transcript: String {
        "--- agent \(name) (pid \(command.pid)) stdout ---\n\(output)--- stderr ---\n\(errors)"
    }

    /// Stops the agent: SIGTERM, up to `grace` for it to exit, then SIGKILL. Removes its
    /// home. Idempotent; returns how it ended.
    @discardableResult
    func stop(grace: Duration = .seconds(5)) -> StopResult {
        if let stopped { return stopped }
        let process = command.process
        var graceful = true
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            if !process.waitBlocking(upTo: grace) {
                graceful = false
                kill(process.processIdentifier, SIGKILL)
                _ = process.waitBlocking(upTo: .seconds(5))
            }
        }
        try? input.fileHandleForWriting.close()
        let result = StopResult(status: process.isRunning ? -1 : process.terminationStatus,
                                signalled: process.isRunning ? false : process.terminationReason == .uncaughtSignal,
                                graceful: graceful)
        stopped = result
        removeTree(home)
        return result
    }

    /// `peershare accept [CODE] [--offer ID]` against this agent.
    func accept(code: String? = nil, offer: String? = nil) async throws -> CommandResult {
        var arguments = ["accept"]
        if let code { arguments.append(code) }
        if let offer { arguments += ["--offer", offer] }
        return try await CLI.run(arguments + ["--home", home])
    }

    /// `peershare decline [ID]` against this agent.
    func decline(offer: String? = nil) async throws -> CommandResult {
        try await CLI.run(["decline"] + (offer.map { [$0] } ?? []) + ["--home", home])
    }

    /// `peershare inbox --json` of this agent.
    func pendingOffers() async throws -> [PendingOfferInfo] { try await CLI.inbox(home: home) }

    /// Names in the inbox directory (raw bytes decoded; sorted by bytes), without the
    /// hidden partial area where the agent keeps unfinished files for a resume.
    func inboxNames() -> [String] { directoryNames(inbox).filter { $0 != Self.partialArea } }

    /// The agent's partial area in the inbox (resume state).
    static let partialArea = ".peershare-partial"

    /// Names in the partial area (empty when there is none).
    func partialAreaNames() -> [String] { directoryNames(inbox + "/" + Self.partialArea) }

    /// `kill -9`: the agent gets no chance to clean up. Its home and inbox stay, so an agent
    /// started again with the same name and root continues with the same identity and pins.
    func killHard() {
        if command.process.isRunning {
            kill(command.process.processIdentifier, SIGKILL)
            _ = command.process.waitBlocking(upTo: .seconds(5))
        }
        try? input.fileHandleForWriting.close()
        stopped = StopResult(status: SIGKILL, signalled: true, graceful: false)
    }

    /// The agent's peak resident memory (`VmHWM` in /proc/PID/status), in KiB; nil once it ended.
    func peakMemoryKiB() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return nil }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    }

    /// Starts `peershare send PATHS --to PEER --home HOME --json`, which goes through this
    /// agent.
    func startSend(_ paths: [String], to peer: AgentProcess) throws -> RunningCommand {
        try RunningCommand(["send"] + paths + ["--to", peer.address, "--home", home, "--json"])
    }
}

/// A sender without an agent of its own: `peershare send` runs in-process with this home
/// (its identity and pins) and this name.
struct SenderHome {
    let name: String
    let home: String

    /// Makes `root/NAME.home`.
    init(name: String, in root: String) throws {
        self.name = name
        self.home = root + "/\(name).home"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
    }

    /// Starts `peershare send PATHS --to AGENT --home HOME --name NAME --json`.
    func startSend(_ paths: [String], to agent: AgentProcess) throws -> RunningCommand {
        try startSend(paths, to: agent.address)
    }

    /// Same, to any `HOST:PORT`, with `options` (such as `--skip-unsendable`) and `--json`
    /// unless `json` is false.
    func startSend(_ paths: [String], to address: String, options: [String] = [], json: Bool = true) throws -> RunningCommand {
        try RunningCommand(["send"] + paths + ["--to", address, "--home", home, "--name", name] + options + (json ? ["--json"] : []))
    }

    /// This sender's fingerprint (`peershare id --json`; creates the identity if needed).
    func fingerprint() async throws -> String { try await CLI.identity(home: home).fingerprint }
}

/// The names in `path`, sorted (empty when it cannot be read).
func directoryNames(_ path: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
}
