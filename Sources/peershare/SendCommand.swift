import ArgumentParser
import Foundation
import Logging
import PeershareAgent
import PeershareCore
import PeershareTransfer

/// `peershare send PATH... --to PEER`, or `send -`, `--text`, `--clipboard`.
struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send files and folders to a peer.",
        discussion: """
            PEER is a discovered peer's name, a unique prefix of one, a fingerprint prefix, \
            or HOST:PORT (for example 192.168.1.20:53317 or [fe80::1%eth0]:53317). \
            The first time, a pairing code is shown: the receiving person types it. \
            Exits 0 only once the receiver has confirmed that every file is written. \
            If no agent is running, send runs one of its own for the duration. \
            '-' sends standard input, --text a text and --clipboard the clipboard (through \
            wl-paste or xclip); each goes as one file (message.txt for a text; --name FILE \
            names it).
            """)

    @OptionGroup var common: CommonOptions

    @Argument(help: ArgumentHelp("Files and folders to send; '-' alone for standard input.", valueName: "PATH"), completion: .file())
    var paths: [String] = []

    @Option(help: ArgumentHelp("Send this text.", valueName: "TEXT"))
    var text: String?

    @Flag(help: "Send the clipboard (through wl-paste under Wayland, xclip under X11).")
    var clipboard = false

    @Option(name: .customLong("to"), help: ArgumentHelp("The receiving peer: a name from `peershare peers`, a fingerprint prefix, or HOST:PORT.", valueName: "PEER"),
            completion: .shellCommand("peershare peers --json 2>/dev/null | tr ',' '\\n' | sed -n 's/.*\"name\":\"\\([^\"]*\\)\".*/\\1/p'"))
    var recipients: [String] = []

    /// The receiving peers: every `--to`, split at commas, each once, in order.
    var targets: [String] {
        var seen = Set<String>()
        return recipients.flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && seen.insert($0).inserted }
    }

    /// The receiving peer of a send to one.
    var to: String { targets.first ?? "" }

    @Flag(help: "Print one JSON object per line instead of text.")
    var json = false

    @Flag(help: "Send what can be sent and exit 0 even if some entries cannot be sent (names with a backslash, a control character or invalid UTF-8; FIFOs, sockets and devices; entries you may not read). Without it such a send exits 12.")
    var skipUnsendable = false

    @Option(name: .customLong("limit-rate"), help: ArgumentHelp("Send at most RATE bytes a second: a number with an optional k, M or G (1024-based), like 500k or 10M; 0 for no limit. Default: limit_rate in the config (none).", valueName: "RATE"))
    var limitRateText: String?

    /// `--limit-rate` in bytes a second (`validate` checked it).
    var limitRate: UInt64? { limitRateText.flatMap(ByteRate.parse) }

    @Option(name: .customLong("exclude"),
            help: ArgumentHelp("Do not send entries inside the folders that match this glob: on the base name (`*.tmp`, `.git`), or on the path below the folder sent (`build/*.o`); a trailing `/` matches folders only (`node_modules/`). Repeatable. Excluded folders are not read.", valueName: "PATTERN"))
    var exclude: [String] = []

    @Option(help: ArgumentHelp("With '-', --text or --clipboard: the file name the receiver gets. Otherwise: the name the receiver sees for this machine (only when no agent is running; default: the host name).", valueName: "NAME"))
    var name: String?

    /// What this send carries.
    enum Input: Equatable {
        case files, standardInput, text(String), clipboard
    }

    var input: Input {
        if let text { return .text(text) }
        if clipboard { return .clipboard }
        return paths == ["-"] ? .standardInput : .files
    }

    /// `--name` names this machine only when files are sent; otherwise it names the file.
    var senderName: String? { input == .files ? name : nil }

    func validate() throws {
        let given = [!paths.isEmpty, text != nil, clipboard].filter { $0 }.count
        guard given == 1 else {
            throw ValidationError("Give one thing to send: files and folders, '-' for standard input, --text TEXT, or --clipboard.")
        }
        if paths.count > 1, paths.contains("-") {
            throw ValidationError("'-' (standard input) is sent alone. For a file named '-', write ./-")
        }
        if input != .files, let name {
            do throws(PathError) {
                try PathRules.validateName(name)
            } catch {
                throw ValidationError("--name must be one file name: \(error)")
            }
        }
        if let problem = ExcludeRules.problem(with: exclude) { throw ValidationError(problem) }
        guard targets.count <= 64 else {
            throw ValidationError("At most 64 recipients at once (got \(targets.count)).")
        }
        guard !to.isEmpty else {
            throw ValidationError("Give the receiving peer with --to: a name, a fingerprint prefix, or HOST:PORT.")
        }
        if let limitRateText, ByteRate.parse(limitRateText) == nil {
            throw ValidationError("--limit-rate must be \(ByteRate.help) (got '\(DisplayEscape.escape(limitRateText))').")
        }
    }

    func run() async throws {
        MemoryTuning.apply()
        let logger = common.bootstrapLogging()
        let paths = common.paths
        let verbose = common.verbose > 0 && !common.quiet
        let printer = SendPrinter(json: json, quiet: common.quiet, verbose: verbose)
        let staged: StagedInput?
        do throws(AgentError) {
            staged = try stage()
        } catch {
            printer.show(.failure(error))
            throw ExitCode(error.kind.exitCode)
        }
        defer { staged?.remove() }
        let absolute = staged.map { [$0.path] } ?? self.paths.map { Settings.expand($0) }
        if targets.count > 1 {
            try await sendToSeveral(absolute, text: staged?.isText == true && name == nil, logger: logger)
            return
        }
        let client = PeershareClient(paths: paths, logger: logger)
        var request = PeershareClient.SendRequest(paths: absolute, to: to, verbose: verbose, name: senderName, exclude: exclude)
        request.limitRate = limitRate
        // With --name it is a file the person named, never a text.
        request.text = staged?.isText == true && name == nil
        var failure: AgentError?
        do throws(AgentError) {
            switch await client.route() {
            case .agent:
                // Ctrl-C: say so, and leave; the agent cancels the transfer when this
                // connection closes, and tells the receiver.
                let interrupt = InterruptHandler {
                    printer.show(.failure(AgentError(.cancelled, "Cancelled.")))
                    staged?.remove()
                    Foundation.exit(AgentError.Kind.cancelled.exitCode)
                }
                defer { interrupt.cancel() }
                do {
                    try await client.sendThroughAgent(request) { printer.show($0) }
                } catch {
                    // Every outcome the agent reported was shown as its event.
                    failure = error
                }
            case .here:
                let task = Task { () async -> Result<Void, AgentError> in
                    do throws(AgentError) {
                        return .success(try await client.sendHere(request) { printer.show($0) })
                    } catch {
                        return .failure(error)
                    }
                }
                let interrupt = InterruptHandler { task.cancel() }
                defer { interrupt.cancel() }
                try await task.value.get()
            }
        } catch {
            failure = error
            if !printer.finished { printer.show(.failure(error)) }
        }
        if let failure { throw ExitCode(failure.kind.exitCode) }
        try checkLeftOut(printer)
    }

    /// Standard input, the text or the clipboard, copied to a private file to send; nil for files.
    private func stage() throws(AgentError) -> StagedInput? {
        switch input {
        case .files: return nil
        case .standardInput:
            if isatty(STDIN_FILENO) == 1 && !json {
                Console.err("Reading standard input; end it with Ctrl-D.")
            }
            return try StagedInput.capture(STDIN_FILENO, name: name, stem: "stdin", what: "Standard input")
        case .text(let text): return try StagedInput.text(text, name: name)
        case .clipboard: return try Clipboard.capture(name: name)
        }
    }

    /// `--to` with several peers: all at once (`MultiSend`), a summary, exit 0 only when
    /// every recipient confirmed.
    private func sendToSeveral(_ absolute: [String], text: Bool, logger: Logger) async throws {
        let verbose = common.verbose > 0 && !common.quiet
        var several = MultiSend(targets: targets, paths: absolute, exclude: exclude, json: json, quiet: common.quiet, verbose: verbose, limitRate: limitRate)
        several.sendsText = text
        let client = PeershareClient(paths: common.paths, logger: logger)
        let outcomes: [MultiSend.Outcome]
        switch await client.route() {
        case .agent:
            outcomes = await several.viaAgent(common.paths)
        case .here:
            let prepared: (Agent, @Sendable (String) throws(AgentError) -> SendTarget)
            do {
                prepared = try await client.standalone(name: senderName, lookingUp: targets)
            } catch {
                RecipientPrinter(label: targets.joined(separator: ","), json: json, quiet: common.quiet).show(.failure(error))
                throw ExitCode(error.kind.exitCode)
            }
            outcomes = await several.standalone(agent: prepared.0, resolve: prepared.1)
        }
        let status = several.finish(outcomes, skipUnsendable: skipUnsendable)
        if status != 0 { throw ExitCode(status) }
    }

    /// A send that left entries out is not a success unless the person said so: every other
    /// file arrived, but what was asked for did not all arrive.
    private func checkLeftOut(_ printer: SendPrinter) throws {
        let leftOut = printer.leftOut
        guard leftOut > 0, !skipUnsendable else { return }
        if !json {
            Console.err("peershare: \(leftOut) \(leftOut == 1 ? "entry was" : "entries were") left out because \(leftOut == 1 ? "it" : "they") cannot be sent (see the warnings). Everything else arrived. Rename them, or pass --skip-unsendable to accept this.")
        }
        throw ExitCode(AgentError.Kind.partial.exitCode)
    }
}

/// Cancels the running send on Ctrl-C (the receiver is told, and keeps what arrived for a resend to resume).
///
/// `@unchecked Sendable` invariant: `source` is set once in init and only cancelled
/// afterwards; a DispatchSource is thread-safe.
final class InterruptHandler: @unchecked Sendable {
    private let source: any DispatchSourceSignal

    init(_ action: @escaping @Sendable () -> Void) {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler(handler: action)
        source.resume()
        self.source = source
    }

    func cancel() {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}
