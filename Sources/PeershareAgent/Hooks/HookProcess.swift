import Foundation
import PeershareTransfer
import NIOConcurrencyHelpers
import PeershareCore
import PeershareTransfer
import SystemPackage

/// Runs one hook program: `argv` exactly as configured (no shell, no PATH lookup, nothing
/// of the transfer on its command line), `input` on its standard input, `directory` as its
/// working directory, as the agent's own user. Past `timeout` seconds it is sent SIGTERM,
/// and SIGKILL 5 seconds later.
///
/// Standard input and output are unlinked temporary files, not pipes: a program that never
/// reads its input, or leaves a child holding its output open, can neither block the agent
/// nor raise SIGPIPE in it.
enum HookProcess {
    struct Outcome: Sendable, Equatable {
        /// The exit status, or the signal that ended it when `signalled`.
        var status: Int32
        var signalled: Bool
        var timedOut: Bool
        /// The first lines it wrote (standard output and error together), escaped.
        var firstLines: [String]
    }

    static let shownLines = 5
    static let shownBytes = 4096

    static func run(_ argv: [String], input: [UInt8], directory: String, timeout: Double) async throws(AgentError) -> Outcome {
        let stdin = try ScratchFile(input)
        let output = try ScratchFile([])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardInput = stdin.handle
        process.standardOutput = output.handle
        process.standardError = output.handle
        let (ended, finish) = AsyncStream<(Int32, Bool)>.makeStream()
        process.terminationHandler = { finished in
            finish.yield((finished.terminationStatus, finished.terminationReason == .uncaughtSignal))
            finish.finish()
        }
        do {
            try process.run()
        } catch {
            throw AgentError(.io, "cannot start \(argv[0]): \(error.localizedDescription)", underlying: error)
        }
        let pid = process.processIdentifier
        let timedOut = NIOLockedValueBox(false)
        let watchdog = Task {
            try await Task.sleep(for: .seconds(timeout))
            timedOut.withLockedValue { $0 = true }
            kill(pid, SIGTERM)
            try await Task.sleep(for: .seconds(5))
            kill(pid, SIGKILL)
        }
        var results = ended.makeAsyncIterator()
        let (status, signalled) = await results.next() ?? (-1, false)
        watchdog.cancel()
        return Outcome(status: status, signalled: signalled, timedOut: timedOut.withLockedValue { $0 },
                       firstLines: output.firstLines(shownLines, bytes: shownBytes))
    }
}

/// A temporary file that has no name from the start (created with `mkstemp`, unlinked at
/// once), holding `bytes`, read from the beginning.
final class ScratchFile: Sendable {
    let handle: FileHandle

    init(_ bytes: [UInt8]) throws(AgentError) {
        var template = Array((FileManager.default.temporaryDirectory.path + "/peershare-hook-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.map { mkstemp($0) } ?? -1 }
        guard fd >= 0 else { throw AgentError(.io, "cannot make a temporary file: \(String(cString: strerror(errno)))") }
        _ = template.withUnsafeBufferPointer { buffer in buffer.baseAddress.map { unlink($0) } }
        handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        do {
            _ = try FileDescriptor(rawValue: fd).writeAll(bytes)
        } catch {
            throw AgentError(.io, "cannot write a temporary file: \(error)")
        }
        lseek(fd, 0, SEEK_SET)
    }

    /// The first `count` lines of at most `bytes` bytes from the start, escaped for display.
    func firstLines(_ count: Int, bytes: Int) -> [String] {
        let fd = handle.fileDescriptor
        var buffer = [UInt8](repeating: 0, count: bytes)
        let read = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard read > 0 else { return [] }
        return buffer.prefix(read).split(separator: UInt8(ascii: "\n")).prefix(count)
            .map { DisplayEscape.escape(String(decoding: $0, as: UTF8.self)) }
    }
}
