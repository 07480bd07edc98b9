import Foundation
import PeershareTransfer
import Logging
import ServiceLifecycle
import PeershareTransfer

/// Writes every finished transfer and offer of one agent to `history.jsonl`, from the
/// agent's own events (an `EventHub` subscription), so the sessions need not know about it.
struct HistoryRecorder: Sendable {
    let file: HistoryFile
    let logger: Logger

    /// Records the transfers that finish in `events` until the stream ends. A history that
    /// cannot be written is logged, never a reason to fail a transfer.
    func record(_ events: AsyncStream<TransferEvent>) async {
        var tracker = TransferTracker()
        for await event in events {
            guard let entry = tracker.take(event) else { continue }
            do {
                try file.append(entry)
            } catch {
                logger.error("cannot record the transfer in the history", metadata: ["transfer.id": "\(entry.transfer)", "error": "\(error.message)"])
            }
        }
    }
}

/// The running agent's history as a lifecycle service. It subscribes when it is made, so
/// make it before the listener starts: no transfer finishes unrecorded.
public struct HistoryService: Service {
    let recorder: HistoryRecorder
    let events: AsyncStream<TransferEvent>
    let end: @Sendable () -> Void

    public init(agent: Agent) {
        recorder = HistoryRecorder(file: HistoryFile(paths: agent.paths), logger: agent.logger)
        (events, end) = agent.hub.makeSubscription()
    }

    public func run() async throws {
        let end = self.end
        await withGracefulShutdownHandler {
            await recorder.record(events)
        } onGracefulShutdown: {
            // Events already published are still written: a finished stream yields its buffer first.
            end()
        }
    }
}

/// The history of a `send` that runs without an agent: started before the send, finished
/// after it, so its outcome is written before the process exits.
public struct HistoryRecording: Sendable {
    private let task: Task<Void, Never>
    private let end: @Sendable () -> Void

    public init(agent: Agent) {
        let recorder = HistoryRecorder(file: HistoryFile(paths: agent.paths), logger: agent.logger)
        let (events, end) = agent.hub.makeSubscription()
        self.end = end
        task = Task { await recorder.record(events) }
    }

    /// Waits until every event published so far is recorded.
    public func finish() async {
        end()
        await task.value
    }
}
