import Foundation
import Glibc
import Testing

/// The folder of the resume tests: several files of a few tens of MiB in subfolders, plus
/// every other kind of entry (small and empty files, an empty directory, a symlink), so a
/// cut lands inside a large file with complete files before it.
enum ResumeTree {
    static let bigFiles = [("raw/a.bin", 24), ("raw/b.bin", 24), ("raw/c.bin", 24), ("edited/d.bin", 16), ("edited/e.bin", 16), ("f.bin", 24)]
    static let notes = "resume me\n"
    /// Bytes of file content in the folder.
    static var totalBytes: UInt64 {
        UInt64(bigFiles.reduce(0) { $0 + ($1.1 << 20) } + notes.utf8.count)
    }

    static func build(at path: String) throws {
        let tree = try TreeBuilder(path)
        try tree.directory("edited")
        try tree.directory("empty", mode: 0o750)
        try tree.directory("raw")
        for (index, file) in bigFiles.enumerated() {
            try tree.randomFile(file.0, size: file.1 << 20, seed: UInt64(500 + index), mode: index == 2 ? 0o600 : 0o644)
        }
        try tree.file("notes.txt", text: notes)
        try tree.file("raw/empty.txt", [])
        try tree.symlink("raw/latest", to: "../f.bin")
        try tree.finish()
    }
}

/// What a receiver holds of an unfinished transfer: complete non-empty files under the
/// received folder, and the unfinished files in its partial area.
struct HeldState: CustomStringConvertible {
    var completeFiles: UInt64 = 0
    var completeBytes: UInt64 = 0
    var partialFiles: UInt64 = 0
    var partialBytes: UInt64 = 0
    var bytes: UInt64 { completeBytes + partialBytes }

    var description: String {
        "\(completeFiles) complete file(s) of \(completeBytes) bytes, \(partialFiles) partial file(s) of \(partialBytes) bytes"
    }

    /// Reads it from disk (regular files only; symlinks are not followed).
    static func read(inbox: String, folder: String?) -> HeldState {
        var state = HeldState()
        if let folder, let walker = FileManager.default.enumerator(atPath: inbox + "/" + folder) {
            for case let relative as String in walker {
                var info = stat()
                guard lstat(inbox + "/" + folder + "/" + relative, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_size > 0 else { continue }
                state.completeFiles += 1
                state.completeBytes += UInt64(info.st_size)
            }
        }
        let area = inbox + "/" + AgentProcess.partialArea
        for name in directoryNames(area) where name.hasSuffix(".part") {
            var info = stat()
            guard lstat(area + "/" + name, &info) == 0, info.st_size > 0 else { continue }
            state.partialFiles += 1
            state.partialBytes += UInt64(info.st_size)
        }
        return state
    }
}

/// Slows a running command to about a fifth of its speed by stopping it (SIGSTOP) for
/// 16 ms out of every 20, so that a test can act in the middle of a transfer however fast
/// or busy the machine is (a whole test folder otherwise crossed loopback between two
/// polls on a quiet machine). The product itself is never slowed.
final class Throttle: Sendable {
    private let pid: pid_t
    private let task: Task<Void, Never>

    init(_ command: RunningCommand) {
        let pid = command.pid
        self.pid = pid
        task = Task {
            while !Task.isCancelled {
                kill(pid, SIGSTOP)
                try? await Task.sleep(for: .milliseconds(16))
                kill(pid, SIGCONT)
                try? await Task.sleep(for: .milliseconds(4))
            }
        }
    }

    /// Ends the throttling: the process runs on, or stays stopped if `frozen`.
    func stop(frozen: Bool = false) async {
        task.cancel()
        await task.value
        kill(pid, frozen ? SIGSTOP : SIGCONT)
    }
}

extension EndToEnd {
    /// Waits until `send` reported at least `bytes` sent, then freezes it (SIGSTOP) and
    /// kills it (SIGKILL): a sender that dies mid-transfer without a word. Fails the test
    /// if the send ended first. The send is throttled meanwhile (``Throttle``).
    static func killSender(_ send: RunningCommand, after bytes: UInt64, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let throttle = Throttle(send)
        let reached = try await poll(timeout: .seconds(90), interval: .milliseconds(10)) {
            send.currentEvents.contains { $0.event == "progress" && ($0.bytes ?? 0) >= bytes } || !send.isRunning ? true : nil
        }
        await throttle.stop(frozen: true)
        let caughtMidway = reached == true && send.isRunning && send.currentEvents.allSatisfy { $0.event != "done" }
        send.send(signal: SIGKILL)
        try #require(caughtMidway, "the send ended before it could be killed: \(send.currentStdout)", sourceLocation: sourceLocation)
        let result = try await send.wait(timeout: .seconds(10))
        #expect(result.signalled && result.status == SIGKILL, "\(result)", sourceLocation: sourceLocation)
    }

    /// Waits until `receiver` has no transfer in progress (it noticed the cut and cleaned up).
    static func waitUntilIdle(_ receiver: AgentProcess, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let idle = try await poll(timeout: .seconds(30), interval: .milliseconds(50)) { () async throws -> Bool? in
            let result = try await CLI.run(["status", "--home", receiver.home, "--json"], timeout: .seconds(5))
            guard result.exited(0), let status = decodeJSON(AgentStatus.self, result.stdout) else { return nil }
            return (status.transfers ?? []).isEmpty ? true : nil
        }
        #expect(idle == true, "the receiver still reports a transfer\n\(receiver.transcript)", sourceLocation: sourceLocation)
    }

    /// Checks a resend's `done` event against what the receiver held before it: exactly
    /// the held bytes were not sent, everything else was; complete files were skipped.
    static func expectResumed(_ result: CommandResult, held: HeldState, total: UInt64, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(result.exited(0), "\(result)", sourceLocation: sourceLocation)
        let done = try #require(result.events("done").last, "no done event: \(result.stdout)", sourceLocation: sourceLocation)
        #expect(done.bytes == total, sourceLocation: sourceLocation)
        #expect(done.resumedBytes == held.bytes, "held before the resend: \(held)", sourceLocation: sourceLocation)
        #expect(done.sentBytes == total - held.bytes, "held before the resend: \(held)", sourceLocation: sourceLocation)
        #expect(done.skippedFiles == held.completeFiles, "held before the resend: \(held)", sourceLocation: sourceLocation)
        #expect(done.resumedFiles == held.partialFiles, "held before the resend: \(held)", sourceLocation: sourceLocation)
        print("[resume] total \(total) bytes; held \(held); resend sent \(done.sentBytes ?? 0) bytes, resumed \(done.resumedBytes ?? 0)")
    }
}
