import Foundation
import Glibc
import PeershareCore
import SodiumKit
import Testing

/// One agent under attack and everything around it, shared by the tests of one suite:
///
///     root/
///       inbox/            the agent's inbox, with pre-existing entries that must never change:
///         existing.txt, existingdir/inner.txt, link -> ../outside, dangling -> ../outside/absent
///       outside/          sentinel tree next to the inbox (victim/keep.txt, victim/sub/, secret.txt)
///       home/             $HOME of every child: .ssh/authorized_keys, .bashrc
///       work/             harness only (agent and sender homes, logs, honest sources): not watched
///
/// The honest sender (`peershare send`, home `work/honest.home`) and the hostile peer are both
/// paired once when the lab starts, so every later session is KNOWN and needs no code.
///
/// Environment: `PEERSHARE_BIN` (the binary under test, default `.build/debug/peershare`),
/// `PEERSHARE_KEEP_LAB=1` (keep the lab directories for inspection), `PEERSHARE_HOSTILE_SLOW=1`
/// (also run the slow 128 MiB path-cap case). Each case prints one `[hostile:<suite>] <case>:
/// <what the agent answered>` line.
final class Lab: @unchecked Sendable {
    @TaskLocal static var current: Lab?

    let tag: String
    let root: String
    let inbox: String
    let outside: String
    let home: String
    let work: String
    let logs: String
    let honestHome: String
    let environment: [String: String]
    let agent: AgentProcess
    let hostile: HostileSender
    /// The pre-existing inbox entries, as they must stay.
    let preexisting: TreeSnapshot
    /// Absolute paths a traversal could reach; their state is compared around every case.
    let watchedAbsolute = ["/etc/passwd", "/etc/passwd (2)", "/srv/share", "/x", "/tmp/x", "/tmp/outside",
                           "/root/.ssh/authorized_keys", "/tmp/psh-absolute-target"]
    private let lock = NSLock()
    private var honestCount = 0

    var port: UInt16 { agent.port }

    private init(tag: String, root: String, environment: [String: String], agent: AgentProcess, hostile: HostileSender,
                 preexisting: TreeSnapshot) {
        self.tag = tag
        self.root = root
        inbox = root + "/inbox"
        outside = root + "/outside"
        home = root + "/home"
        work = root + "/work"
        logs = root + "/work/logs"
        honestHome = root + "/work/honest.home"
        self.environment = environment
        self.agent = agent
        self.hostile = hostile
        self.preexisting = preexisting
    }

    // MARK: Start and stop

    static func start(tag: String, offerTimeout: Int, config: String? = nil, arguments: [String] = []) async throws -> Lab {
        guard HostileEnvironment.binaryExists else {
            throw HarnessError("no peershare binary at \(HostileEnvironment.binary); run `swift build` first")
        }
        let root = try HostileEnvironment.makeTemporaryDirectory(tag: tag)
        do {
            let environment = try makeTree(root)
            let preexisting = TreeSnapshot.scan(root + "/inbox")
            let agent = try await AgentProcess.start(
                name: "victim-\(tag)", home: root + "/work/agent.home", inbox: root + "/inbox", offerTimeout: offerTimeout,
                config: config, arguments: arguments, environment: environment, logs: root + "/work/logs")
            let lab = Lab(tag: tag, root: root, environment: environment, agent: agent,
                          hostile: HostileSender(name: "hostile"), preexisting: preexisting)
            do {
                try await lab.pairHonestSender()
                try await lab.pairHostileSender()
                lab.restoreInbox()
            } catch {
                lab.shutdown()
                throw error
            }
            return lab
        } catch {
            removeTree(root)
            throw error
        }
    }

    /// Stops the agent (by its pid) and removes the lab.
    func shutdown() {
        agent.stop()
        if ProcessInfo.processInfo.environment["PEERSHARE_KEEP_LAB"] == nil {
            removeTree(root)
        } else {
            print("[hostile:\(tag)] lab kept at \(root)")
        }
    }

    private static func makeTree(_ root: String) throws -> [String: String] {
        let fm = FileManager.default
        for directory in ["inbox/existingdir", "outside/victim/sub", "home/.ssh", "work/logs", "work/honest-src",
                          "work/xdg/config", "work/xdg/state", "work/xdg/data", "work/xdg/run", "work/downloads"] {
            try fm.createDirectory(atPath: root + "/" + directory, withIntermediateDirectories: true)
        }
        try writeFile(root + "/outside/secret.txt", Array("do not touch\n".utf8))
        try writeFile(root + "/outside/victim/keep.txt", Array("keep me\n".utf8))
        try writeFile(root + "/home/.ssh/authorized_keys", Array("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOriginal owner@host\n".utf8))
        try writeFile(root + "/home/.bashrc", Array("# sentinel\n".utf8))
        try writeFile(root + "/inbox/existing.txt", Array("original content\n".utf8))
        try writeFile(root + "/inbox/existingdir/inner.txt", Array("original inner\n".utf8))
        guard symlink("../outside", root + "/inbox/link") == 0,
              symlink("../outside/absent", root + "/inbox/dangling") == 0 else {
            throw HarnessError("cannot create the sentinel symlinks")
        }
        chmod(root + "/home/.ssh", 0o700)
        chmod(root + "/home/.ssh/authorized_keys", 0o600)
        for path in ["inbox/existing.txt", "inbox/existingdir/inner.txt", "inbox/existingdir", "outside/secret.txt",
                     "outside/victim/keep.txt", "home/.ssh/authorized_keys"] {
            setModificationTime(root + "/" + path, seconds: 1_000_000_000)
        }
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "PEERSHARE_HOME")
        environment["HOME"] = root + "/home"
        environment["XDG_CONFIG_HOME"] = root + "/work/xdg/config"
        environment["XDG_STATE_HOME"] = root + "/work/xdg/state"
        environment["XDG_DATA_HOME"] = root + "/work/xdg/data"
        environment["XDG_RUNTIME_DIR"] = root + "/work/xdg/run"
        environment["XDG_DOWNLOAD_DIR"] = root + "/work/downloads"
        return environment
    }

    // MARK: Pairing at start

    /// First contact of the honest sender: `peershare send --json`, its code typed with
    /// `peershare accept CODE`.
    private func pairHonestSender() async throws {
        let source = work + "/honest-src/pair-honest-\(tag)"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try writeFile(source + "/a.txt", Array("pairing\n".utf8))
        let send = try Subprocess(["send", source, "--to", agent.address, "--home", honestHome, "--name", "honest", "--json"],
                                  environment: environment, logDirectory: logs)
        let deadline = ContinuousClock.now + .seconds(30)
        var code: String?
        while code == nil, send.isRunning, ContinuousClock.now < deadline {
            for line in send.stdout.split(separator: "\n") {
                if let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
                   object["event"] as? String == "code" {
                    code = object["code"] as? String
                }
            }
            if code == nil { try await Task.sleep(for: .milliseconds(20)) }
        }
        guard let code else {
            send.stop()
            throw HarnessError("the honest sender showed no pairing code: \(send.stdout)\(send.stderr)\n\(agent.transcript)")
        }
        let accepted = await agent.accept(code)
        guard accepted.exited(0) else { throw HarnessError("accept failed: \(accepted)") }
        let result = await send.wait(timeout: .seconds(30))
        guard result.exited(0) else { throw HarnessError("the honest pairing failed: \(result)\n\(agent.transcript)") }
    }

    /// First contact of the hostile peer, played honestly with `SenderAttempt`.
    private func pairHostileSender() async throws {
        let summary = Raw.summary(sender: hostile.name, names: ["pair-hostile.txt"], total: 3)
        let socket = try await PeerSocket.connect(port: port)
        defer { socket.close() }
        let attempt = SenderAttempt(socket: socket, identity: hostile.identity, pinnedReceiver: nil, summary: summary)
        try await attempt.sendM1()
        if let refused = await attempt.readM2() { throw HarnessError("hostile pairing: no M2 but \(refused)") }
        guard let (code, m3) = try attempt.handleM2() else { throw HarnessError("hostile pairing: agent answered KNOWN") }
        try await socket.sendFrame(m3)
        // `accept` waits until the transfer starts, which needs the steps below: typed
        // meanwhile, checked once the offer was answered.
        let agent = self.agent
        let digits = code
        let typed = Task { await agent.accept(digits) }
        let m4: [UInt8]
        switch await attempt.readM4() {
        case .success(let bytes): m4 = bytes
        case .failure(let box): throw HarnessError("hostile pairing: no M4 but \(box)")
        }
        let session = try await attempt.finish(m4: m4)
        let answer = try await session.offer([Raw.offerType] + summary)
        guard case .accept = answer else { throw HarnessError("hostile pairing: offer answered with \(answer)") }
        let accepted = await typed.value
        guard accepted.exited(0) else { throw HarnessError("accept failed: \(accepted)") }
        try await session.send(Raw.file("pair-hostile.txt", size: 3))
        try await session.send(Raw.data(Array("hi\n".utf8)))
        try await session.send(Raw.end(files: 1, bytes: 3), final: true)
        let done = await session.finalAnswer()
        guard case .done = done else { throw HarnessError("hostile pairing transfer: \(done)\n\(agent.transcript)") }
        hostile.pin(session.agentKey)
        session.close()
    }

    /// Removes every top-level inbox entry that is not pre-existing.
    func restoreInbox() {
        let keep = Set(preexisting.nodes.keys.filter { !$0.contains(UInt8(ascii: "/")) })
        let directory = openDirectory(AT_FDCWD, Array(inbox.utf8))
        guard directory >= 0 else { return }
        defer { close(directory) }
        for name in TreeSnapshot.entries(of: directory) where !keep.contains(name) {
            removeEntry(directory, name)
        }
        for name in TreeSnapshot.entries(of: directory) where !keep.contains(name) {
            print("[hostile:\(tag)] could not remove inbox entry \(shown(name))")
        }
    }

    // MARK: Cases

    /// What the world looked like before a case.
    struct Probe {
        let label: String
        let outside: TreeSnapshot
        let inbox: TreeSnapshot
        let watched: [String: NodeInfo?]
        let stdoutOffset: Int
        let stderrOffset: Int
        let started: ContinuousClock.Instant
    }

    /// What new inbox entries a case may leave.
    enum Expected {
        /// Nothing may appear in the inbox (a refused or aborted transfer).
        case nothing
        /// Exactly these relative paths (raw bytes) appear.
        case exactly(Set<[UInt8]>)
        /// The test checks the new entries itself (see `newEntries`).
        case checkedByTest
    }

    private func outsideSnapshot() -> TreeSnapshot { TreeSnapshot.scan(root, excluding: ["inbox", "work"]) }

    private func watchedSnapshot() -> [String: NodeInfo?] {
        var result: [String: NodeInfo?] = [:]
        for path in watchedAbsolute { result[path] = NodeInfo.read(Array(path.utf8)) }
        return result
    }

    func begin(_ label: String) -> Probe {
        Probe(label: label, outside: outsideSnapshot(), inbox: TreeSnapshot.scan(inbox), watched: watchedSnapshot(),
              stdoutOffset: agent.stdoutBytes.count, stderrOffset: agent.stderrBytes.count, started: .now)
    }

    /// Inbox entries that appeared since `probe` (relative raw paths), the partial area aside.
    func newEntries(since probe: Probe) -> [[UInt8]: NodeInfo] {
        let now = TreeSnapshot.scan(inbox)
        return now.nodes.filter { probe.inbox.nodes[$0.key] == nil && !Self.isInPartialArea($0.key) }
    }

    /// The agent's hidden partial area (resume state), relative to the inbox.
    static let partialArea = Array(".peershare-partial".utf8)

    /// True for the partial area and anything in it.
    static func isInPartialArea(_ key: [UInt8]) -> Bool {
        key == partialArea || key.starts(with: partialArea + [UInt8(ascii: "/")])
    }

    /// Entries in the partial area (relative to the inbox), the area itself excluded.
    func partialAreaEntries() -> [[UInt8]: NodeInfo] {
        TreeSnapshot.scan(inbox).nodes.filter { Self.isInPartialArea($0.key) && $0.key != Self.partialArea }
    }

    /// True for a kept partial file's name in the partial area (64 hex digits and `.part`).
    static func isPartFile(_ key: [UInt8]) -> Bool {
        let name = key.split(separator: UInt8(ascii: "/")).last.map(Array.init) ?? key
        return name.count == 70 && name.reversed().starts(with: Array("trap.".utf8))
    }

    /// The partial files kept for a resume (relative to the inbox).
    func partFiles() -> [[UInt8]] {
        partialAreaEntries().filter { Self.isPartFile($0.key) && $0.value.kind == "file" }.map(\.key)
    }

    /// Temp files of the writer anywhere in the inbox.
    func temporaryFiles() -> [[UInt8]] {
        TreeSnapshot.scan(inbox).nodes.keys.filter { key in
            let name = key.split(separator: UInt8(ascii: "/")).last.map(Array.init) ?? key
            return name.starts(with: Array(".peershare-".utf8)) && name.reversed().starts(with: Array("trap.".utf8))
        }
    }

    /// Waits until the agent wrote a new line to its output containing `text` after the probe.
    @discardableResult
    func waitForAgentOutput(_ text: String, since probe: Probe, timeout: Duration = .seconds(10)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if agentOutput(since: probe).contains(text) { return true }
            if !(await pause(.milliseconds(20))) { return false }
        }
        return false
    }

    /// Polls `fact` until it holds, up to `timeout`; false when it never did.
    func waitUntil(timeout: Duration = .seconds(10), _ fact: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if fact() { return true }
            if !(await pause(.milliseconds(10))) { return false }
        }
        return fact()
    }

    /// What the agent printed since the probe (stdout then stderr).
    func agentOutputBytes(since probe: Probe) -> [UInt8] {
        Array(agent.stdoutBytes.dropFirst(probe.stdoutOffset)) + Array(agent.stderrBytes.dropFirst(probe.stderrOffset))
    }

    func agentOutput(since probe: Probe) -> String {
        String(decoding: agentOutputBytes(since: probe), as: UTF8.self)
    }

    /// Checks every invariant after a case, then that an honest peer is still served, then
    /// restores the inbox for the next case.
    ///
    /// `keepsPartial`: the case cut an authenticated transfer off mid-file, after some of the
    /// file's bytes, so the agent must keep that file in its partial area for a resume: at
    /// least one `.part` file, and only `.part` files of mode 0600. Otherwise the partial area
    /// must be gone: a refused or failed transfer keeps nothing.
    func finish(_ probe: Probe, outcome: Outcome? = nil, expect expected: Expected = .nothing, honestCheck: Bool = true,
                keepsPartial: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) async {
        print("[hostile:\(tag)] \(probe.label): \(outcome.map { "\($0)" } ?? "-")")
        // Let an abort the agent noticed on its own (connection closed) finish its cleanup: the
        // facts waited for are the temp files gone and the partial area in its final state.
        let deadline = ContinuousClock.now + .seconds(5)
        _ = await pause(.milliseconds(30))
        while (!temporaryFiles().isEmpty || (!keepsPartial && !partialAreaEntries().isEmpty)
               || (keepsPartial && partFiles().isEmpty)) && ContinuousClock.now < deadline {
            if !(await pause(.milliseconds(20))) { break }
        }
        if keepsPartial {
            #expect(!partFiles().isEmpty, "\(probe.label): the cut transfer left no .part in the partial area for a resume",
                    sourceLocation: sourceLocation)
        }
        for (key, node) in partialAreaEntries() {
            #expect(keepsPartial && Self.isPartFile(key) && node.mode & 0o7777 == 0o600,
                    "\(probe.label): unexpected in the partial area: \(shown(key)) \(node)", sourceLocation: sourceLocation)
        }

        let outsideChanges = outsideSnapshot().differences(from: probe.outside)
        #expect(outsideChanges.isEmpty, "\(probe.label): changed outside the inbox:\n\(outsideChanges.joined(separator: "\n"))",
                sourceLocation: sourceLocation)
        let watchedNow = watchedSnapshot()
        for path in watchedAbsolute where (watchedNow[path] ?? nil) != (probe.watched[path] ?? nil) {
            Issue.record("\(probe.label): \(path) changed: \(String(describing: probe.watched[path] ?? nil)) → \(String(describing: watchedNow[path] ?? nil))",
                         sourceLocation: sourceLocation)
        }
        let inboxNow = TreeSnapshot.scan(inbox)
        for (key, original) in preexisting.nodes where inboxNow.nodes[key] != original {
            Issue.record("\(probe.label): pre-existing inbox entry \(shown(key)) changed: \(original) → \(String(describing: inboxNow.nodes[key]))",
                         sourceLocation: sourceLocation)
        }
        let temps = temporaryFiles()
        #expect(temps.isEmpty, "\(probe.label): temporary files left: \(temps.map(shown))", sourceLocation: sourceLocation)
        let created = Set(inboxNow.nodes.keys.filter { probe.inbox.nodes[$0] == nil && !Self.isInPartialArea($0) })
        switch expected {
        case .nothing:
            #expect(created.isEmpty, "\(probe.label): entries appeared in the inbox for a refused transfer: \(created.map(shown).sorted())",
                    sourceLocation: sourceLocation)
        case .exactly(let names):
            #expect(created == names, "\(probe.label): new inbox entries \(created.map(shown).sorted()), expected \(names.map(shown).sorted())",
                    sourceLocation: sourceLocation)
        case .checkedByTest:
            break
        }
        let leaks = Self.rawControlFindings(agentOutputBytes(since: probe))
        #expect(leaks.isEmpty, "\(probe.label): the agent printed raw control/bidi bytes: \(leaks)", sourceLocation: sourceLocation)
        #expect(agent.isRunning, "\(probe.label): the agent is no longer running\n\(agent.transcript)", sourceLocation: sourceLocation)
        restoreInbox()
        if honestCheck && agent.isRunning {
            await expectHonestPeerServed(after: probe.label, sourceLocation: sourceLocation)
        }
    }

    /// Raw bytes a terminal would interpret, found in agent output: C0 controls other than
    /// newline and tab, DEL, C1 controls (UTF-8 `C2 80`–`C2 9F`) and bidi controls.
    static func rawControlFindings(_ bytes: [UInt8]) -> [String] {
        var findings: [String] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            let next = index + 1 < bytes.count ? bytes[index + 1] : 0
            let third = index + 2 < bytes.count ? bytes[index + 2] : 0
            if (byte < 0x20 && byte != 0x0A && byte != 0x09) || byte == 0x7F {
                findings.append(String(format: "0x%02X at %d", byte, index))
            } else if byte == 0xC2 && (0x80...0x9F).contains(next) {
                findings.append(String(format: "C1 U+00%02X at %d", next, index))
            } else if byte == 0xD8 && next == 0x9C {
                findings.append("U+061C at \(index)")
            } else if byte == 0xE2 && next == 0x80 && (third == 0x8E || third == 0x8F || (0xAA...0xAE).contains(third)) {
                findings.append(String(format: "bidi E2 80 %02X at %d", third, index))
            } else if byte == 0xE2 && next == 0x81 && (0xA6...0xA9).contains(third) {
                findings.append(String(format: "bidi E2 81 %02X at %d", third, index))
            }
            index += 1
            if findings.count > 10 { break }
        }
        return findings
    }

    // MARK: The honest peer

    /// Runs a real `peershare send` of a small tree (KNOWN: paired at start) and checks that
    /// it arrives intact; then removes it from the inbox.
    func expectHonestPeerServed(after label: String, sourceLocation: SourceLocation = #_sourceLocation) async {
        let result = await honestSend()
        #expect(result.ok, "after \(label): the agent no longer serves an honest peer: \(result.detail)\n\(agent.transcript)",
                sourceLocation: sourceLocation)
    }

    /// One honest transfer; `ok` when `send` exited 0 with `done` and the tree arrived intact.
    func honestSend(timeout: Duration = .seconds(30)) async -> (ok: Bool, detail: String, result: CommandResult?) {
        let number: Int = lock.withLock {
            honestCount += 1
            return honestCount
        }
        let name = "honest-\(tag)-\(number)"
        let source = work + "/honest-src/" + name
        do {
            try FileManager.default.createDirectory(atPath: source + "/sub", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: source + "/empty", withIntermediateDirectories: true)
            try writeFile(source + "/a.txt", Array("alpha \(number)\n".utf8))
            try writeFile(source + "/sub/b.bin", Raw.pattern(3000, seed: UInt8(truncatingIfNeeded: number)))
        } catch {
            return (false, "cannot make the honest source: \(error)", nil)
        }
        defer {
            removeTree(source)
            removeTree(inbox + "/" + name)
        }
        let process: Subprocess
        do {
            process = try Subprocess(["send", source, "--to", agent.address, "--home", honestHome, "--name", "honest", "--json"],
                                     environment: environment, logDirectory: logs)
        } catch {
            return (false, "cannot start send: \(error)", nil)
        }
        let result = await process.wait(timeout: timeout)
        guard result.exited(0), result.eventNames.last == "done" else { return (false, "\(result)", result) }
        let sent = treeListing(source)
        let received = treeListing(inbox + "/" + name)
        guard sent == received else { return (false, "received tree differs: sent \(sent), received \(received)", result) }
        return (true, "ok", result)
    }

    // MARK: Assertions on outcomes

    /// The agent answered exactly as `expected` says: the same kind of answer (abort,
    /// REFUSE or FAILURE) with the same reason code, and a printable text containing the
    /// expected piece (case-insensitive). A close without a word counts only where the case
    /// expects `.silentClose` and says why that is the right answer.
    func expectRejected(_ outcome: Outcome, _ label: String, _ expected: Rejection,
                        sourceLocation: SourceLocation = #_sourceLocation) {
        if case .silentClose = expected {
            #expect(outcome.isClosedWithoutReason, "\(label): expected \(expected), got \(outcome)",
                    sourceLocation: sourceLocation)
            return
        }
        guard let reason = outcome.reason, expected.matchesKind(of: outcome) else {
            Issue.record("\(label): expected \(expected), got \(outcome)", sourceLocation: sourceLocation)
            return
        }
        let leaks = Self.rawControlFindings(Array(reason.utf8))
        #expect(leaks.isEmpty, "\(label): the refusal text has raw control bytes: \(leaks)", sourceLocation: sourceLocation)
        #expect(reason.lowercased().contains(expected.text.lowercased()),
                "\(label): the reason \"\(DisplayEscape.escape(reason))\" does not mention \"\(expected.text)\" (\(expected))",
                sourceLocation: sourceLocation)
    }
}

/// What the agent must answer to a hostile case: the kind of answer, its reason code and a
/// piece of its text that names the cause.
enum Rejection: CustomStringConvertible, Sendable {
    /// A plaintext handshake abort with this reason byte (`AbortNotice`).
    case abort(UInt8, String)
    case refuse(RefusalReason, String)
    case failure(FailureCode, String)
    /// The connection closed without a message; the text says why that is the right answer.
    case silentClose(because: String)

    /// FAILURE 1 (protocol error) naming `text`: the answer to a broken stream.
    static func protocolError(_ text: String) -> Rejection { .failure(.protocolViolation, text) }

    /// REFUSE 5 (bad offer) naming `text`.
    static func badOffer(_ text: String) -> Rejection { .refuse(.badOffer, text) }

    var text: String {
        switch self {
        case .abort(_, let text), .refuse(_, let text), .failure(_, let text), .silentClose(let text): text
        }
    }

    /// True when `outcome` is this kind of answer with this reason code.
    func matchesKind(of outcome: Outcome) -> Bool {
        switch (self, outcome) {
        case (.abort(let reason, _), .abort(let notice)): reason == notice.reason
        case (.refuse(let reason, _), .refuse(let got, _)): reason == got
        case (.failure(let code, _), .failure(let got, _)): code == got
        default: false
        }
    }

    var description: String {
        switch self {
        case .abort(let reason, let text): "abort(reason \(reason)) mentioning \"\(text)\""
        case .refuse(let reason, let text): "REFUSE(\(reason.rawValue) \(reason)) mentioning \"\(text)\""
        case .failure(let code, let text): "FAILURE(\(code.rawValue) \(code)) mentioning \"\(text)\""
        case .silentClose(let why): "a close without a message (\(why))"
        }
    }
}

/// Starts one lab (agent, honest and hostile peers) around a whole suite and stops it after.
struct LabTrait: SuiteTrait, TestScoping {
    let tag: String
    let offerTimeout: Int
    let config: String?
    let arguments: [String]

    var isRecursive: Bool { false }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let lab = try await Lab.start(tag: tag, offerTimeout: offerTimeout, config: config, arguments: arguments)
        defer { lab.shutdown() }
        try await Lab.$current.withValue(lab) {
            try await function()
        }
    }
}

extension Trait where Self == LabTrait {
    /// One agent for the suite; `offerTimeout` is its `--offer-timeout` (seconds a pending offer
    /// waits), `config` the text of its `config.toml` (for `[limits]`), `arguments` more
    /// options for `peershare run`.
    static func lab(_ tag: String, offerTimeout: Int = 30, config: String? = nil, arguments: [String] = []) -> LabTrait {
        LabTrait(tag: tag, offerTimeout: offerTimeout, config: config, arguments: arguments)
    }
}
