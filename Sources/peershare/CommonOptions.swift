import ArgumentParser
import Foundation
import Logging
import PeershareAgent
import PeershareTransfer

/// Options every subcommand takes.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Keep all state (identity, pins, control socket) under DIR instead of the XDG directories. Same as $PEERSHARE_HOME.", valueName: "DIR"))
    var home: String?

    @Flag(name: .shortAndLong, help: "Print more (repeat for debug output).")
    var verbose: Int

    @Flag(name: .shortAndLong, help: "Print only errors (and the pairing code).")
    var quiet = false

    var paths: StatePaths { StatePaths.resolve(home: home) }

    /// Logging goes to standard error; libraries log at info or below, so the default level
    /// (notice) keeps the terminal quiet.
    func bootstrapLogging() -> Logger {
        let level: Logger.Level = quiet ? .error : verbose >= 2 ? .debug : verbose == 1 ? .info : .notice
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: "peershare")
    }
}

/// Prints `error` the way every subcommand does and exits with its class's status.
func fail(_ error: AgentError) -> ExitCode {
    FileHandle.standardError.write(Data("peershare: \(error.message)\n".utf8))
    return ExitCode(error.kind.exitCode)
}

/// Runs `body`, turning an `AgentError` into its message and exit status. With `json`, the
/// message is the same `error` event that `send --json` prints, on standard output, so that a
/// script reads every command's failure the same way.
func reportingErrors(json: Bool = false, _ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as AgentError {
        guard json else { throw fail(error) }
        printJSON(TransferEvent.failure(error))
        throw ExitCode(error.kind.exitCode)
    }
}

func printJSON<T: Encodable>(_ value: T) {
    print(ControlJSON.line(value))
}
