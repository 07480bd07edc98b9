import Foundation
import NIOConcurrencyHelpers
import PeershareAgent
import PeershareCore
import PeershareTransfer

/// `send --to bob --to carol` (or `--to bob,carol`): one transfer per recipient, all at
/// once, each reading the files for itself (so at most once per recipient, with each
/// session's memory bounded as for one send). Every line of text names its recipient, every
/// `--json` event carries it as `peer`, and a summary says who confirmed.
///
/// Exit status: 0 when every recipient confirmed every file, ``someFailed`` (13) when at
/// least one did not, 12 when all confirmed but entries were left out.
struct MultiSend {
    static let someFailed: Int32 = 13

    let targets: [String]
    let paths: [String]
    let exclude: [String]
    let json: Bool
    let quiet: Bool
    let verbose: Bool
    /// `--limit-rate`, for each recipient's send.
    var limitRate: UInt64?
    /// The one path is a text: each recipient that takes text gets it as a TEXT message.
    var sendsText = false

    /// One recipient's result, as the summary lists it.
    struct Outcome: Codable, Sendable {
        var peer: String
        /// `confirmed`, or `failed` with the error's `kind` and `message`.
        var outcome: String
        var kind: String?
        var message: String?
        var files: UInt64?
        var bytes: UInt64?
        var leftOut: UInt64?
    }

    /// The `summary` line of `--json`.
    struct Summary: Codable, Sendable {
        var event = "summary"
        var time = TransferEvent.timestamp()
        var confirmed: Int
        var failed: Int
        var recipients: [Outcome]
    }

    /// Sends through the running agent: one control connection per recipient.
    func viaAgent(_ state: StatePaths) async -> [Outcome] {
        await each { target, printer in
            var request = ControlRequest(command: .send)
            request.paths = paths
            request.exclude = exclude.isEmpty ? nil : exclude
            request.to = target
            request.verbose = verbose ? true : nil
            request.limitRate = limitRate
            request.text = sendsText ? true : nil
            do throws(AgentError) {
                try await ControlClient.stream(request, paths: state) { printer.show($0) }
            } catch {
                printer.show(.failure(error))
            }
        }
    }

    /// Sends from this process (no agent runs): `resolve` turns each `--to` into a target.
    func standalone(agent: Agent, resolve: @escaping @Sendable (String) throws(AgentError) -> SendTarget) async -> [Outcome] {
        let history = HistoryRecording(agent: agent)
        let outcomes = await each { target, printer in
            do throws(AgentError) {
                var resolved = try resolve(target)
                resolved.fileEvents = verbose
                resolved.limitRate = limitRate
                resolved.sendsText = sendsText
                _ = try await agent.send(paths: paths, exclude: exclude, to: resolved) { printer.show($0) }
            } catch {
                if !printer.finished { printer.show(.failure(error)) }
            }
        }
        await history.finish()
        return outcomes
    }

    /// Runs `send` for every target at once, Ctrl-C cancelling them all.
    private func each(_ send: @escaping @Sendable (String, RecipientPrinter) async -> Void) async -> [Outcome] {
        let printers = targets.map { RecipientPrinter(label: $0, json: json, quiet: quiet) }
        let task = Task {
            await withTaskGroup(of: Void.self) { group in
                for (target, printer) in zip(targets, printers) {
                    group.addTask { await send(target, printer) }
                }
            }
        }
        let interrupt = InterruptHandler { task.cancel() }
        await task.value
        interrupt.cancel()
        return printers.map(\.outcome)
    }

    /// Prints the summary and ends with the documented status.
    func finish(_ outcomes: [Outcome], skipUnsendable: Bool) -> Int32 {
        let confirmed = outcomes.filter { $0.outcome == "confirmed" }
        if json {
            printJSON(Summary(confirmed: confirmed.count, failed: outcomes.count - confirmed.count, recipients: outcomes))
        } else {
            Console.out("Summary: \(confirmed.count) of \(outcomes.count) recipients confirmed every file.")
            let width = outcomes.map { DisplayEscape.escape($0.peer).count }.max() ?? 0
            for outcome in outcomes {
                let name = DisplayEscape.escape(outcome.peer)
                let detail = outcome.outcome == "confirmed"
                    ? "confirmed  \(outcome.files ?? 0) file(s), \(ByteCount.format(outcome.bytes ?? 0))"
                    : "FAILED     \(outcome.message ?? "") (\(outcome.kind ?? "general"))"
                Console.out("  \(name)\(String(repeating: " ", count: max(0, width - name.count)))  \(detail)")
            }
        }
        if confirmed.count < outcomes.count { return Self.someFailed }
        let leftOut = outcomes.contains { ($0.leftOut ?? 0) > 0 }
        return leftOut && !skipUnsendable ? AgentError.Kind.partial.exitCode : 0
    }
}

/// One recipient's events: `--json` lines with its `peer`, or text lines that start with
/// `[NAME]` (progress as a plain line every few seconds: several transfers cannot share one
/// redrawn line).
final class RecipientPrinter: Sendable {
    let label: String
    let json: Bool
    let quiet: Bool
    private let state: NIOLockedValueBox<(outcome: MultiSend.Outcome?, total: UInt64, start: Date, lastLine: Date)>

    init(label: String, json: Bool, quiet: Bool) {
        self.label = label
        self.json = json
        self.quiet = quiet
        state = NIOLockedValueBox((nil, 0, Date(), .distantPast))
    }

    var finished: Bool { state.withLockedValue { $0.outcome != nil } }

    var outcome: MultiSend.Outcome {
        state.withLockedValue { $0.outcome }
            ?? MultiSend.Outcome(peer: label, outcome: "failed", kind: AgentError.Kind.general.rawValue,
                                 message: "The transfer ended without a result.")
    }

    func show(_ event: TransferEvent) {
        record(event.what)
        if json {
            var line = event.record
            line.peer = label
            Console.out(ControlJSON.line(line))
        } else if let line = text(event.what) {
            Console.out("[\(DisplayEscape.escape(label))] " + line)
        }
    }

    private func record(_ what: AgentEvent) {
        state.withLockedValue { state in
            switch what {
            case .sending(let sending):
                (state.total, state.start) = (sending.totalBytes, Date())
            case .done(let done):
                state.outcome = MultiSend.Outcome(peer: label, outcome: "confirmed", files: done.files, bytes: done.bytes, leftOut: done.leftOut)
            case .error(let failed) where state.outcome == nil:
                state.outcome = MultiSend.Outcome(peer: label, outcome: "failed", kind: failed.kind, message: failed.message)
            default:
                break
            }
        }
    }

    private func text(_ what: AgentEvent) -> String? {
        switch what {
        case .error(let failed):
            return "failed: \(failed.message)"
        case .code(let shown):
            return "Pairing code: \(shown.code.prefix(3)) \(shown.code.dropFirst(3)) (the receiving person types it)"
        case _ where quiet:
            return nil
        case .sending(let sending):
            return "Sending \(Describe.contents(files: sending.files, directories: sending.directories, bytes: sending.totalBytes))"
        case .waiting:
            return "Waiting for the receiver to accept…"
        case .accepted:
            state.withLockedValue { $0.start = Date() }
            return "Accepted. Sending…"
        case .progress(let progress):
            let due = state.withLockedValue { state -> (Date, UInt64)? in
                guard Date().timeIntervalSince(state.lastLine) >= 2 else { return nil }
                state.lastLine = Date()
                return (state.start, state.total)
            }
            return due.map { Describe.progress(bytes: progress.bytes, total: $0.1, since: $0.0) }
        case .done(let done):
            return "Done: \(done.files) file(s), \(ByteCount.format(done.bytes)). The receiver confirmed every file."
        case .warning(let warning):
            return "warning: \(warning.message)"
        default:
            return nil
        }
    }
}
