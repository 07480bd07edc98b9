import Foundation
import PeershareAgent
import PeershareCore
import NIOConcurrencyHelpers

/// Shows a send's events: JSON lines with `--json`; otherwise text, with a redrawn progress
/// line on a terminal and a plain line every few seconds when output is not a terminal.
final class SendPrinter: Sendable {
    let json: Bool
    let quiet: Bool
    private struct State {
        var start = Date()
        var total: UInt64 = 0
        var lastPlainLine = Date.distantPast
        var finished = false
        var statusShown = false
        var leftOut: UInt64 = 0
    }
    private let state = NIOLockedValueBox(State())

    init(json: Bool, quiet: Bool) {
        self.json = json
        self.quiet = quiet
    }

    /// True once a `done` or `error` event was shown.
    var finished: Bool { state.withLockedValue { $0.finished } }

    /// Entries the finished send left out (its `done` event's `leftOut`).
    var leftOut: UInt64 { state.withLockedValue { $0.leftOut } }

    func show(_ event: TransferEvent) {
        if event.event == "done" || event.event == "error" {
            state.withLockedValue {
                $0.finished = true
                $0.leftOut = event.leftOut ?? 0
            }
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
        case "warning":
            guard !quiet else { return }
            Console.err("warning: \(event.message ?? "")")
        case "connected":
            guard !quiet else { return }
            Console.out("Connected to \(event.address ?? "?") (fingerprint \(event.fingerprint ?? "?"))\(event.paired == true ? ", a paired peer" : "").")
        case "code":
            let digits = event.code ?? ""
            let shown = digits.count == 6 ? "\(digits.prefix(3)) \(digits.suffix(3))" : digits
            Console.out("Pairing code: \(shown)")
            if !quiet {
                Console.out("The receiving person types this code to accept (valid for \(Describe.clock(event.expiresIn ?? 0))).")
            }
        case "waiting":
            if !quiet { Console.out("Waiting for the receiver to accept…") }
        case "accepted":
            state.withLockedValue { $0.start = Date() }
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
        case "done":
            clearStatus()
            guard !quiet else { return }
            let seconds = event.seconds ?? 0
            let sent = event.sentBytes ?? event.bytes ?? 0
            let rate = seconds > 0 ? Double(sent) / seconds : 0
            Console.out("Done: \(event.files ?? 0) file(s), \(ByteCount.format(event.bytes ?? 0)) in \(String(format: "%.1f", seconds)) s (\(Describe.rate(rate))). The receiver confirmed every file.")
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

    private func clearStatus() {
        if state.withLockedValue({ $0.statusShown }) { Console.endStatus() }
    }
}
