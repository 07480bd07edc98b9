import Foundation
import Glibc
import SodiumKit

/// A real `peershare run` agent: `--no-discovery --listen 127.0.0.1 --port 0 --home <lab>`.
/// Stopped by its pid only (SIGTERM, then SIGKILL), from `Lab.shutdown` or `deinit`.
final class AgentProcess: @unchecked Sendable {
    let name: String
    let home: String
    let inbox: String
    let process: Subprocess
    let port: UInt16
    let publicKey: [UInt8]
    private let environment: [String: String]
    private let logs: String

    var pid: Int32 { process.pid }
    var isRunning: Bool { process.isRunning }
    var address: String { "127.0.0.1:\(port)" }

    private init(name: String, home: String, inbox: String, process: Subprocess, port: UInt16, publicKey: [UInt8],
                 environment: [String: String], logs: String) {
        self.name = name
        self.home = home
        self.inbox = inbox
        self.process = process
        self.port = port
        self.publicKey = publicKey
        self.environment = environment
        self.logs = logs
    }

    deinit { process.stop() }

    /// `config`: the text of the agent's `config.toml` (`HOME/config/config.toml`), if any;
    /// `arguments`: more options for `run` (`-v` to see the session log).
    static func start(name: String, home: String, inbox: String, offerTimeout: Int, config: String? = nil, arguments: [String] = [],
                      environment: [String: String], logs: String) async throws -> AgentProcess {
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        if let config {
            try FileManager.default.createDirectory(atPath: home + "/config", withIntermediateDirectories: true)
            try writeFile(home + "/config/config.toml", Array(config.utf8))
        }
        let process = try Subprocess(
            ["run", "--home", home, "--port", "0", "--listen", "127.0.0.1", "--inbox", inbox, "--no-discovery",
             "--name", name, "--offer-timeout", String(offerTimeout)] + arguments,
            environment: environment, logDirectory: logs, keepInputOpen: true)
        let deadline = ContinuousClock.now + .seconds(30)
        var port: UInt16?
        while port == nil {
            guard process.isRunning else {
                throw HarnessError("agent \(name) exited at start:\n\(process.stdout)\n\(process.stderr)")
            }
            if ContinuousClock.now >= deadline {
                process.stop()
                throw HarnessError("agent \(name) did not print its port within 30 s:\n\(process.stdout)\n\(process.stderr)")
            }
            port = parsePort(process.stdout)
            if port == nil { try await Task.sleep(for: .milliseconds(20)) }
        }
        guard let port else { throw HarnessError("no port") }
        // The identity key, from `status --json` (the control socket answers once the agent runs).
        var key: [UInt8]?
        while key == nil {
            let status = await Self.command(["status", "--home", home, "--json"], environment: environment, logs: logs)
            if status.exited(0), let object = (try? JSONSerialization.jsonObject(with: Data(status.stdout.utf8))) as? [String: Any],
               let hex = object["publicKey"] as? String {
                key = Hex.decode(hex)
            } else if ContinuousClock.now >= deadline {
                process.stop()
                throw HarnessError("agent \(name) did not answer `status`: \(status)")
            } else {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        guard let key, key.count == 32 else { throw HarnessError("bad identity key from status") }
        return AgentProcess(name: name, home: home, inbox: inbox, process: process, port: port, publicKey: key,
                            environment: environment, logs: logs)
    }

    /// The port in `peershare agent "NAME" listening on port N`.
    static func parsePort(_ output: String) -> UInt16? {
        for line in output.split(separator: "\n") {
            guard let range = line.range(of: "listening on port ") else { continue }
            let digits = line[range.upperBound...].prefix { $0.isNumber }
            if let value = UInt16(digits), value > 0 { return value }
        }
        return nil
    }

    static func command(_ arguments: [String], environment: [String: String], logs: String,
                        timeout: Duration = .seconds(20)) async -> CommandResult {
        do {
            let process = try Subprocess(arguments, environment: environment, logDirectory: logs)
            return await process.wait(timeout: timeout)
        } catch {
            return CommandResult(arguments: arguments, status: -1, timedOut: false, stdout: "", stderr: "\(error)", elapsed: .zero)
        }
    }

    /// `peershare ARGUMENTS... --home HOME` against this agent.
    func run(_ arguments: [String], timeout: Duration = .seconds(20)) async -> CommandResult {
        await Self.command(arguments + ["--home", home], environment: environment, logs: logs, timeout: timeout)
    }

    /// `peershare accept CODE --home HOME`.
    func accept(_ code: String) async -> CommandResult { await run(["accept", code]) }

    /// `peershare inbox --json`: the offers waiting for a decision (nil if the command failed).
    func pendingOffers() async -> [[String: Any]]? {
        let result = await run(["inbox", "--json"])
        guard result.exited(0) else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [[String: Any]]
    }

    /// Everything the agent printed (stdout then stderr), raw.
    var stdoutBytes: [UInt8] { process.stdoutBytes }
    var stderrBytes: [UInt8] { process.stderrBytes }
    var transcript: String { "--- agent stdout ---\n\(process.stdout)--- agent stderr ---\n\(process.stderr)" }

    /// Open descriptors of the agent process (`/proc/PID/fd`).
    func openDescriptors() -> Int? {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd"))?.count
    }

    /// Resident memory in KiB (`VmRSS` in `/proc/PID/status`).
    func residentKiB() -> Int? { statusValue("VmRSS:") }

    /// Peak resident memory in KiB since the agent started (`VmHWM`).
    func peakResidentKiB() -> Int? { statusValue("VmHWM:") }

    private func statusValue(_ key: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key) {
            return Int(line.split(separator: " ").dropFirst().first { Int($0) != nil } ?? "")
        }
        return nil
    }

    /// The pins in the agent's trust store (`state/trusted.json`): public key hex → name.
    func pins() -> [String: String] {
        guard let data = FileManager.default.contents(atPath: home + "/state/trusted.json"),
              let array = (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] else { return [:] }
        var result: [String: String] = [:]
        for entry in array {
            if let key = entry["publicKey"] as? String { result[key] = entry["name"] as? String ?? "" }
        }
        return result
    }

    func stop() { process.stop() }
}
