import Foundation
import PeershareAgent
import PeershareCore
import NIOConcurrencyHelpers
import PeershareTransfer

/// Shows a send's events: JSON lines with `--json`; otherwise text, with a redrawn progress
/// line on a terminal and a plain line every few seconds when output is not a terminal.
final class SendPrinter: Sendable {
    let json: Bool
    let quiet: Bool
    /// `-v`: also the addresses to try, the handshake mode, and a line per file.
    let verbose: Bool
    private struct State {
        var start = Date()
        var total: UInt64 = 0
        var lastPlainLine = Date.distantPast
        var finished = false
        var statusShown = false
        var leftOut: UInt64 = 0
        /// When the offer reached the receiver (the `waiting` event) and how long this send
        /// waits for it (the `code` event's `expiresIn`), for the countdown and for saying
        /// how long the receiver's agent kept the offer open.
        var waitingSince: Date?
        var ownWait: Double?
        var counting = false
    }
    private let state = NIOLockedValueBox(State())

    init(json: Bool, quiet: Bool, verbose: Bool = false) {
        self.json = json
        self.quiet = quiet
        self.verbose = verbose
    }

    /// True once a `done` or `error` event was shown.
    var finished: Bool { state.withLockedValue { $0.finished } }

    /// Entries the finished send left out (its `done` event's `leftOut`).
    var leftOut: UInt64 { state.withLockedValue { $0.leftOut } }

    func show(_ event: TransferEvent) {
        var event = event
        switch event.what {
        case .done(let done):
            state.withLockedValue {
                $0.finished = true
                $0.leftOut = done.leftOut ?? 0
                $0.counting = false
            }
        case .error(var failed):
            state.withLockedValue {
                $0.finished = true
                $0.leftOut = 0
                $0.counting = false
            }
            if failed.errorKind == .expired {
                failed.message = expiryMessage()
                event.what = .error(failed)
            }
        case .accepted:
            state.withLockedValue { $0.counting = false }
        default:
            break
        }
        if json {
            Console.out(ControlJSON.line(event))
            return
        }
        showText(event.what)
    }

    private func showText(_ what: AgentEvent) {
        switch what {
        case .sending(let sending):
            showSending(sending)
        case .warning(let warning):
            guard !quiet else { return }
            Console.err("warning: \(warning.message)")
        case .connected(let connected):
            guard !quiet else { return }
            Console.out("Connected to \(connected.address) (fingerprint \(connected.fingerprint))\(connected.paired ? ", a paired peer" : "").")
            if verbose {
                Console.out(connected.paired
                    ? "Handshake mode KNOWN: the receiver's key is pinned here, no code is needed."
                    : "Handshake mode PAIR: the receiver does not know this device; a code is needed.")
            }
        case .code(let shown):
            showCode(shown)
        case .waiting:
            state.withLockedValue { $0.waitingSince = Date() }
            if !quiet {
                Console.out("Waiting for the receiver to accept…")
                startCountdown()
            }
        case .accepted:
            state.withLockedValue { $0.start = Date() }
            clearStatus()
            if !quiet { Console.out("Accepted. Sending…") }
        case .checking(let checking):
            guard !quiet else { return }
            Console.out("Checking the \(ByteCount.format(checking.bytes)) of \(DisplayEscape.escape(checking.file ?? "")) the receiver already holds…")
        case .progress(let progress):
            showProgress(progress)
        case .file(let file):
            guard verbose else { return }
            clearStatus()
            Console.out(Self.fileLine(file))
        case .done(let done):
            clearStatus()
            guard !quiet else { return }
            showDone(done)
        case .error(let failed):
            clearStatus()
            Console.err("peershare: \(failed.message)")
        default:
            break
        }
    }

    private func showSending(_ sending: AgentEvent.Sending) {
        state.withLockedValue {
            $0.start = Date()
            $0.total = sending.totalBytes
        }
        guard !quiet else { return }
        let contents = Describe.contents(files: sending.files, directories: sending.directories, bytes: sending.totalBytes)
        Console.out("Sending \(contents) to \(sending.address ?? "?"): \(Describe.names(sending.names))")
        if verbose {
            Console.out("Addresses to try, in order: \(sending.addresses.map { DisplayEscape.escape($0) }.joined(separator: ", ")).")
        }
    }

    private func showCode(_ shown: AgentEvent.CodeShown) {
        let digits = shown.code
        let grouped = digits.count == 6 ? "\(digits.prefix(3)) \(digits.suffix(3))" : digits
        Console.out("Pairing code: \(grouped)")
        state.withLockedValue { $0.ownWait = shown.expiresIn }
        if !quiet {
            // The receiver's agent has its own offer timeout, which the sender cannot
            // know: the time shown is this send's wait, and says so.
            Console.out("The receiving person types this code to accept (this send waits up to \(Describe.clock(shown.expiresIn)); the receiver's agent may close the offer sooner).")
        }
    }

    private func showProgress(_ progress: AgentEvent.Progress) {
        guard !quiet else { return }
        let (start, total, lastPlain) = state.withLockedValue { ($0.start, $0.total, $0.lastPlainLine) }
        let file = DisplayEscape.escape(progress.file ?? "")
        let line = "\(Describe.progress(bytes: progress.bytes, total: total, since: start)) \(file)"
        if Console.errorIsTerminal {
            Console.status(String(line.prefix(160)))
            state.withLockedValue { $0.statusShown = true }
        } else if Date().timeIntervalSince(lastPlain) >= 5 {
            state.withLockedValue { $0.lastPlainLine = Date() }
            Console.err(line)
        }
    }

    private func showDone(_ done: AgentEvent.Done) {
        let timing = Describe.timing(bytes: done.bytes, wireBytes: done.wireBytes, seconds: done.seconds)
        let wait = Describe.wait(done.waitSeconds).map { ", \($0)" } ?? ""
        Console.out("Done: \(done.files) file(s), \(ByteCount.format(done.bytes)) \(timing)\(wait). The receiver confirmed every file.")
        if done.resumedBytes > 0 {
            // Resume: say what did not travel again, so a person sees the resend was cheap.
            Console.out("Resumed: \(ByteCount.format(done.sentBytes)) sent, \(ByteCount.format(done.resumedBytes)) were already at the receiver (\(done.skippedFiles) complete file(s) skipped, \(done.resumedFiles) continued).")
        }
        if let leftOut = done.leftOut, leftOut > 0 {
            Console.out("Left out: \(leftOut) \(leftOut == 1 ? "entry" : "entries") that cannot be sent (see the warnings above).")
        }
    }

    /// `send -v`'s line for one file: sent whole, continued, or skipped.
    static func fileLine(_ file: AgentEvent.FileSent) -> String {
        let name = DisplayEscape.escape(file.file)
        let size = file.bytes
        switch file.resumedBytes {
        case .some(let held) where held >= size:
            return "skipped \(name) (already complete at the receiver, \(ByteCount.format(size)))"
        case .some(let held):
            return "sent \(name) (\(ByteCount.format(size - held)), continued after the \(ByteCount.format(held)) the receiver held)"
        case .none:
            return "sent \(name) (\(ByteCount.format(size)))"
        }
    }

    /// Said when the receiver's agent closed the offer (only it sends "expired"; this send's
    /// own wait ends as unreachable), with how long after it arrived there.
    private func expiryMessage() -> String {
        let since = state.withLockedValue { $0.waitingSince }
        let after = since.map { " (after \(Int(Date().timeIntervalSince($0).rounded())) s)" } ?? ""
        return "The receiver's agent closed the offer after its offer timeout\(after), before anyone accepted it. Send again."
    }

    /// On a terminal, counts this send's own wait down on the status line until the offer
    /// is answered.
    private func startCountdown() {
        guard Console.errorIsTerminal, let wait = state.withLockedValue({ $0.ownWait }), wait > 0 else { return }
        let deadline = Date().addingTimeInterval(wait)
        state.withLockedValue { $0.counting = true }
        Task { [self] in
            while true {
                let shown = state.withLockedValue { state -> Bool in
                    guard state.counting else { return false }
                    Console.status("Waiting for the receiver: this send gives up in \(Describe.clock(max(0, deadline.timeIntervalSinceNow))).")
                    state.statusShown = true
                    return true
                }
                guard shown else { return }
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    private func clearStatus() {
        let shown = state.withLockedValue { state in
            defer { state.statusShown = false }
            return state.statusShown
        }
        if shown { Console.endStatus() }
    }
}
