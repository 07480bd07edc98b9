import Foundation
import PeershareTransfer

/// Follows the events of sends, offers and receives, and turns the last event of each into
/// a `HistoryEntry`. Pure bookkeeping (no I/O): the history recorder, the receive hook and
/// the notifications all read finished transfers from it.
///
/// A transfer is known by its id (`transfer`, or `offer` for an offer; the receiver uses one
/// id for both). Only ``maxOpen`` unfinished ones are followed; past that the oldest is
/// dropped, so a flood of offers that never end cannot grow the agent's memory.
struct TransferTracker {
    private var open: [String: (entry: HistoryEntry, started: Date)] = [:]
    static let maxOpen = 1024

    /// The finished entry when `event` ends a transfer; nil otherwise.
    mutating func take(_ event: TransferEvent, now: Date = Date()) -> HistoryEntry? {
        let record = event.record
        guard let id = event.what.transfer else { return nil }
        switch event.what {
        case .sending, .offer, .receiving:
            begin(id, record, now: now)
        case .connected(let connected):
            open[id]?.entry.fingerprint = connected.fingerprint
        case .accepted(_, let peer):
            if !peer.isEmpty { open[id]?.entry.peer = peer }
        case .done:
            return finish(id, .confirmed, record, now: now)
        case .received:
            return finish(id, .received, record, now: now)
        case .offerClosed(let closed):
            return finish(id, Self.outcome(closed: closed.message), record, now: now)
        case .pairingFailed:
            return finish(id, .wrongCode, record, now: now)
        case .error(let failed):
            return finish(id, Self.outcome(kind: failed.kind), record, now: now)
        default:
            break
        }
        return nil
    }

    private mutating func begin(_ id: String, _ event: EventRecord, now: Date) {
        if var known = open[id] {
            // An offer that was accepted: `receiving` adds what the offer did not say.
            known.entry.fingerprint = event.fingerprint ?? known.entry.fingerprint
            open[id] = known
            return
        }
        if open.count >= Self.maxOpen, let oldest = open.min(by: { $0.value.started < $1.value.started }) {
            open.removeValue(forKey: oldest.key)
        }
        open[id] = (Self.entry(id, event), now)
    }

    private mutating func finish(_ id: String, _ outcome: HistoryEntry.Outcome, _ event: EventRecord, now: Date) -> HistoryEntry? {
        let known = open.removeValue(forKey: id)
        // An error of nothing followed is a transfer's only if it says with whom (an offer
        // refused before it was shown); a send whose paths could not be read reached no one.
        if known == nil && (event.direction == nil || (event.peer ?? event.address) == nil) { return nil }
        var (entry, started) = known ?? (Self.entry(id, event), now)
        entry.outcome = outcome
        if let names = event.names, !names.isEmpty { Self.setNames(names, in: &entry) }
        if outcome != .confirmed && outcome != .received, let message = event.message {
            entry.message = String(message.prefix(HistoryEntry.maxMessage))
        }
        if let text = event.text { entry.text = String(text.prefix(HistoryEntry.maxText)) }
        entry.seconds = max(0, now.timeIntervalSince(started))
        return entry
    }

    /// An entry from a transfer's first event (or from a lone error: all there is of an
    /// offer from a paired peer refused before it was shown).
    private static func entry(_ id: String, _ event: EventRecord) -> HistoryEntry {
        var entry = HistoryEntry(
            time: event.time ?? TransferEvent.timestamp(),
            direction: event.event == "sending" || event.direction == "send" ? .send : .receive,
            peer: event.peer ?? event.address ?? "", fingerprint: event.fingerprint, address: event.address,
            names: [], files: event.files ?? 0, bytes: event.totalBytes ?? 0,
            outcome: .failed, seconds: 0, transfer: id)
        setNames(event.names ?? [], in: &entry)
        return entry
    }

    private static func setNames(_ names: [String], in entry: inout HistoryEntry) {
        entry.names = Array(names.prefix(HistoryEntry.maxNames))
        entry.moreNames = names.count > HistoryEntry.maxNames ? names.count - HistoryEntry.maxNames : nil
    }

    /// `offer-closed` says why in its message: declined, expired, withdrawn by the sender,
    /// or removed to make room.
    static func outcome(closed message: String?) -> HistoryEntry.Outcome {
        switch message {
        case "declined": .declined
        case "expired": .expired
        case let text? where text.hasPrefix("withdrawn"): .withdrawn
        default: .refused
        }
    }

    static func outcome(kind: String?) -> HistoryEntry.Outcome {
        switch AgentError.Kind(rawValue: kind ?? "") {
        case .declined: .declined
        case .expired: .expired
        case .cancelled: .cancelled
        case .wrongCode: .wrongCode
        case .busy, .noSpace: .refused
        default: .failed
        }
    }
}
