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
        if event.event == "done" || event.event == "error" {
            state.withLockedValue {
                $0.finished = true
                $0.leftOut = event.leftOut ?? 0
            }
        }
        if event.event == "accepted" || event.event == "done" || event.event == "error" {
            state.withLockedValue { $0.counting = false }
        }
        if event.event == "error", event.kind == "expired" {
            event.message = expiryMessage()
        }
        if json {
            Console.out(ControlJSON.line(event))
            return
        }
        switch event.event {
        case "sending":
            state.withLockedValue {
                $0.start = Date()
                $0.total = event.totalBytes ?? 0
            }
            guard !quiet else { return }
            let contents = Describe.contents(files: event.files ?? 0, directories: event.directories ?? 0, bytes: event.totalBytes ?? 0)
            Console.out("Sending \(contents) to \(event.address ?? "?"): \(Describe.names(event.names ?? []))")
            if verbose, let addresses = event.addresses {
                Console.out("Addresses to try, in order: \(addresses.map { DisplayEscape.escape($0) }.joined(separator: ", ")).")
            }
        case "warning":
            guard !quiet else { return }
            Console.err("warning: \(event.message ?? "")")
        case "connected":
            guard !quiet else { return }
            Console.out("Connected to \(event.address ?? "?") (fingerprint \(event.fingerprint ?? "?"))\(event.paired == true ? ", a paired peer" : "").")
            if verbose {
                Console.out(event.paired == true
                    ? "Handshake mode KNOWN: the receiver's key is pinned here, no code is needed."
                    : "Handshake mode PAIR: the receiver does not know this device; a code is needed.")
            }
        case "code":
            let digits = event.code ?? ""
            let shown = digits.count == 6 ? "\(digits.prefix(3)) \(digits.suffix(3))" : digits
            Console.out("Pairing code: \(shown)")
            state.withLockedValue { $0.ownWait = event.expiresIn }
            if !quiet {
                // The receiver's agent has its own offer timeout, which the sender cannot
                // know: the time shown is this send's wait, and says so.
                Console.out("The receiving person types this code to accept (this send waits up to \(Describe.clock(event.expiresIn ?? 0)); the receiver's agent may close the offer sooner).")
            }
        case "waiting":
            state.withLockedValue { $0.waitingSince = Date() }
            if !quiet {
                Console.out("Waiting for the receiver to accept…")
                startCountdown()
            }
        case "accepted":
            state.withLockedValue { $0.start = Date() }
            clearStatus()
            if !quiet { Console.out("Accepted. Sending…") }
        case "checking":
            guard !quiet else { return }
            Console.out("Checking the \(ByteCount.format(event.bytes ?? 0)) of \(DisplayEscape.escape(event.file ?? "")) the receiver already holds…")
        case "progress":
            guard !quiet else { return }
            let (start, total, lastPlain) = state.withLockedValue { ($0.start, $0.total, $0.lastPlainLine) }
            let file = DisplayEscape.escape(event.file ?? "")
            let line = "\(Describe.progress(bytes: event.bytes ?? 0, total: total, since: start)) \(file)"
            if Console.errorIsTerminal {
                Console.status(String(line.prefix(160)))
                state.withLockedValue { $0.statusShown = true }
            } else if Date().timeIntervalSince(lastPlain) >= 5 {
                state.withLockedValue { $0.lastPlainLine = Date() }
                Console.err(line)
            }
        case "file":
            guard verbose else { return }
            clearStatus()
            Console.out(Self.fileLine(event))
        case "done":
            clearStatus()
            guard !quiet else { return }
            let sent = event.sentBytes ?? event.bytes ?? 0
            let timing = Describe.timing(bytes: event.bytes ?? 0, wireBytes: event.wireBytes, seconds: event.seconds ?? 0)
            let wait = Describe.wait(event.waitSeconds).map { ", \($0)" } ?? ""
            Console.out("Done: \(event.files ?? 0) file(s), \(ByteCount.format(event.bytes ?? 0)) \(timing)\(wait). The receiver confirmed every file.")
            if let resumed = event.resumedBytes, resumed > 0 {
                // Resume: say what did not travel again, so a person sees the resend was cheap.
                Console.out("Resumed: \(ByteCount.format(sent)) sent, \(ByteCount.format(resumed)) were already at the receiver (\(event.skippedFiles ?? 0) complete file(s) skipped, \(event.resumedFiles ?? 0) continued).")
            }
            if let leftOut = event.leftOut, leftOut > 0 {
                Console.out("Left out: \(leftOut) \(leftOut == 1 ? "entry" : "entries") that cannot be sent (see the warnings above).")
            }
        case "error":
            clearStatus()
            Console.err("peershare: \(event.message ?? "the transfer failed")")
        default:
            break
        }
    }

    /// `send -v`'s line for one file: sent whole, continued, or skipped.
    static func fileLine(_ event: TransferEvent) -> String {
        let name = DisplayEscape.escape(event.file ?? "?")
        let size = event.bytes ?? 0
        switch event.resumedBytes {
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
