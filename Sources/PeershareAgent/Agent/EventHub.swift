import Foundation
import NIOConcurrencyHelpers
import PeershareTransfer

/// Fans events out to every subscriber (the agent's terminal, `peershare watch`-style control
/// clients) and keeps the table of transfers in progress that `status` shows.
///
/// `publish` is synchronous and ordered per caller, so a session's events reach every
/// subscriber in the order it emitted them.
public final class EventHub: Sendable {
    private let subscribers = NIOLockedValueBox<[UUID: AsyncStream<TransferEvent>.Continuation]>([:])
    private let table = NIOLockedValueBox<[String: TransferStatus]>([:])

    public init() {}

    public func publish(_ event: TransferEvent) {
        track(event)
        let targets = subscribers.withLockedValue { Array($0.values) }
        for target in targets { target.yield(event) }
    }

    /// A stream of every event from now on; it ends when the consumer stops iterating.
    public func subscribe() -> AsyncStream<TransferEvent> { makeSubscription().stream }

    /// A stream of every event from now on, and `end`, which finishes it and drops the
    /// subscriber at once: a consumer that waits for the next event (a control client that
    /// went away while nothing happens) would otherwise stay subscribed for ever.
    func makeSubscription() -> (stream: AsyncStream<TransferEvent>, end: @Sendable () -> Void) {
        let id = UUID()
        let (stream, continuation) = AsyncStream<TransferEvent>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLockedValue { $0.removeValue(forKey: id) }
        }
        subscribers.withLockedValue { $0[id] = continuation }
        return (stream, { continuation.finish() })
    }

    /// Subscribers now (tests check that closed control clients leave none behind).
    package var subscriberCount: Int { subscribers.withLockedValue { $0.count } }

    /// Transfers in progress, oldest first.
    public var transfers: [TransferStatus] {
        table.withLockedValue { Array($0.values) }.sorted { $0.started < $1.started }
    }

    private func track(_ event: TransferEvent) {
        table.withLockedValue { table in
            switch event.what {
            case .sending(let sending):
                table[sending.transfer] = TransferStatus(
                    id: sending.transfer, direction: "send", peer: sending.address ?? "", bytes: 0,
                    totalBytes: sending.totalBytes, file: nil, started: Date())
            case .receiving(let receiving):
                table[receiving.transfer] = TransferStatus(
                    id: receiving.transfer, direction: "receive", peer: receiving.peer, bytes: 0,
                    totalBytes: receiving.totalBytes, file: nil, started: Date())
            case .connected(let connected):
                if var status = table[connected.transfer] {
                    status.peer = status.peer.isEmpty ? connected.fingerprint : status.peer + " " + connected.fingerprint
                    table[connected.transfer] = status
                }
            case .progress(let progress):
                table[progress.transfer]?.bytes = progress.bytes
                table[progress.transfer]?.file = progress.file
            case .done(let done):
                table.removeValue(forKey: done.transfer)
            case .received(let received):
                table.removeValue(forKey: received.transfer)
            case .error(let failed):
                if let id = failed.transfer { table.removeValue(forKey: id) }
            default:
                break
            }
        }
    }
}

/// One transfer in progress, as `status` shows it.
public struct TransferStatus: Codable, Sendable, Equatable {
    public var id: String
    public var direction: String
    public var peer: String
    public var bytes: UInt64
    public var totalBytes: UInt64
    public var file: String?
    public var started: Date
}
