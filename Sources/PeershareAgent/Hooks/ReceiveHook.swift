import Foundation
import PeershareTransfer
import Logging
import PeershareCore
import ServiceLifecycle
import PeershareTransfer

/// What the receive hook reads on its standard input: one JSON object.
struct HookDocument: Codable, Sendable {
    var event = "received"
    var transfer: String
    var time: String
    /// The sender's name (as it gave it; not escaped) and identity.
    var peer: String
    var fingerprint: String?
    var address: String?
    /// The directory the files were written to, which is the hook's working directory.
    var inbox: String
    /// The top-level names placed in the inbox (after any " (2)" suffix).
    var names: [String]
    /// Everything placed, relative to `inbox`; `filesTruncated` when the list was cut.
    var files: [ReceivedFile]
    var filesTruncated: Bool
    var bytes: UInt64
    /// A received text message, when the transfer was one.
    var text: String?
}

/// Runs `on_receive` after every confirmed receive, never after a refused or failed one:
/// it follows the agent's events and acts on `received` only. Hooks run one at a time, in
/// the order the receives finished; at most ``maxQueued`` wait, later ones are logged and
/// dropped, so a burst of transfers cannot pile up processes.
public struct ReceiveHookService: Service {
    static let maxQueued = 64
    let argv: [String]
    let timeout: Double
    let inbox: String
    let logger: Logger
    let events: AsyncStream<TransferEvent>
    let end: @Sendable () -> Void

    /// Nil when no hook is configured.
    public init?(agent: Agent) {
        guard !agent.options.onReceive.isEmpty else { return nil }
        argv = agent.options.onReceive
        timeout = agent.options.onReceiveTimeout
        inbox = agent.options.inbox
        logger = agent.logger
        (events, end) = agent.hub.makeSubscription()
    }

    public func run() async throws {
        let (jobs, queue) = AsyncStream<HookDocument>.makeStream(bufferingPolicy: .bufferingOldest(Self.maxQueued))
        let end = self.end
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { await follow(queue) }
                group.addTask { for await job in jobs { await runHook(job) } }
            }
        } onGracefulShutdown: {
            end()
        }
    }

    /// Turns `received` events into hook jobs, remembering each receive's sender identity
    /// from its `receiving` event (for a bounded number of receives in progress).
    private func follow(_ queue: AsyncStream<HookDocument>.Continuation) async {
        var identities: [String: (fingerprint: String?, address: String?)] = [:]
        for await event in events {
            switch event.what {
            case .receiving(let receiving):
                if identities.count >= TransferTracker.maxOpen { identities.removeAll() }
                identities[receiving.transfer] = (receiving.fingerprint, receiving.address)
            case .received(let received):
                let identity = identities.removeValue(forKey: received.transfer)
                let job = document(received, time: event.time, fingerprint: identity?.fingerprint, address: identity?.address)
                if case .dropped = queue.yield(job) {
                    logger.warning("on_receive: too many hooks waiting; not run for this transfer", metadata: ["transfer.id": "\(received.transfer)"])
                }
            case .error(let failed), .sessionEnded(let failed):
                if let id = failed.transfer { identities.removeValue(forKey: id) }
            default:
                break
            }
        }
        queue.finish()
    }

    private func document(_ event: AgentEvent.Received, time: String?, fingerprint: String?, address: String?) -> HookDocument {
        let directory = event.inbox ?? inbox
        let (files, truncated) = ReceivedFiles.list(inbox: directory, names: event.names)
        return HookDocument(transfer: event.transfer, time: time ?? TransferEvent.timestamp(),
                            peer: event.peer, fingerprint: fingerprint, address: address, inbox: directory,
                            names: event.names, files: files, filesTruncated: truncated, bytes: event.bytes, text: event.text)
    }

    private func runHook(_ job: HookDocument) async {
        var logger = self.logger
        logger[metadataKey: "transfer.id"] = "\(job.transfer)"
        logger[metadataKey: "hook.program"] = "\(DisplayEscape.escape(argv[0]))"
        do {
            let outcome = try await HookProcess.run(argv, input: Array(ControlJSON.line(job).utf8) + [10],
                                                    directory: job.inbox, timeout: timeout)
            let output = outcome.firstLines.joined(separator: " | ")
            let ended = outcome.timedOut ? "timed out after \(Int(timeout)) s (stopped)"
                : outcome.signalled ? "killed by signal \(outcome.status)" : "exited with status \(outcome.status)"
            if outcome.status == 0 && !outcome.signalled && !outcome.timedOut {
                logger.notice("on_receive \(ended)", metadata: ["hook.output": "\(output)"])
            } else {
                logger.warning("on_receive \(ended)", metadata: ["hook.output": "\(output)"])
            }
        } catch {
            logger.error("on_receive could not run: \(error.message)")
        }
    }
}
