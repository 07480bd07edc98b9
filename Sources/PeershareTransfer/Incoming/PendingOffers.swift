import Foundation
import PeershareCore
import SodiumKit

/// What the person decided about a pending offer.
package enum Decision: Sendable, Equatable {
    case code(PairingCode)
    case approve
    case decline
    case expired
    case withdrawn
    /// Not shown: too many offers are waiting, or this address offered too much (the text says which).
    case busy(String)
    /// Shown, then removed to make room for an offer from another address (the text says why).
    case evicted(String)
}

/// An offer waiting for the person: either the pairing code (unpaired sender) or a yes/no
/// (paired sender with `--ask-paired`).
public struct PendingOffer: Codable, Sendable, Equatable {
    public var id: String
    public var peer: String
    public var fingerprint: String
    public var address: String
    public var needsCode: Bool
    public var files: UInt64
    public var directories: UInt64
    public var bytes: UInt64
    public var names: [String]
    public var moreNames: UInt64
    public var expires: Date
    /// Set when the claimed name belongs to another paired device (hostile-inputs item 28).
    public var warning: String?
}

/// The offers waiting for a decision, and the continuations of the sessions waiting on them.
///
/// An actor: decisions arrive from the terminal, from control clients and from timers, in
/// any order; each offer is resolved exactly once, and a decision that arrives before the
/// session starts waiting is kept for it.
///
/// Admission is fair between source addresses, so that someone without a code cannot keep
/// a first contact off the person's screen: each address may hold `perAddress` offers; when
/// the board is full, a new offer from an address holding k offers evicts the oldest
/// undecided offer of an address holding at least k + 2 (with two per address: a newcomer
/// evicts a second offer, never an address's only one). An offer that is the only one from
/// its address is therefore never evicted, and a newcomer is refused only when at least
/// `capacity` addresses hold offers.
package actor OfferBoard {
    private struct Slot {
        var offer: PendingOffer
        var waiter: CheckedContinuation<Decision, Never>?
        var decided: Decision?
    }

    private var slots: [String: Slot] = [:]
    private var order: [String] = []
    let capacity: Int
    let perAddress: Int
    /// At most `ratePerAddress` offers from one address per `rateWindow` seconds are shown.
    let ratePerAddress: Int
    let rateWindow: TimeInterval
    private var recent: [String: [Date]] = [:]

    package init(capacity: Int, perAddress: Int = 2, ratePerAddress: Int = 10, rateWindow: TimeInterval = 60) {
        self.capacity = capacity
        self.perAddress = perAddress
        self.ratePerAddress = ratePerAddress
        self.rateWindow = rateWindow
    }

    /// Adds an offer; nil when it is shown, else why it is refused (an offer flood must not
    /// crowd out honest senders or the person's screen).
    package func add(_ offer: PendingOffer, now: Date = Date()) -> String? {
        recent = recent.compactMapValues { times in
            let kept = times.filter { now.timeIntervalSince($0) < rateWindow }
            return kept.isEmpty ? nil : kept
        }
        let held = offers(from: offer.address).count
        guard held < perAddress else {
            return "too many offers from your address are waiting for a decision (at most \(perAddress)); try again later"
        }
        guard recent[offer.address, default: []].count < ratePerAddress else {
            return "too many offers from your address lately (at most \(ratePerAddress) a minute); try again later"
        }
        if slots.values.filter({ $0.decided == nil }).count >= capacity {
            guard let victim = evictionCandidate(newcomerHolds: held) else {
                return "too many offers are waiting for a decision (\(capacity), from as many addresses); try again later"
            }
            evict(victim, reason: "the receiver's offer board is full and your address had several offers waiting: this one, the oldest, was removed to make room for an offer from another address; try again later")
        }
        recent[offer.address, default: []].append(now)
        slots[offer.id] = Slot(offer: offer)
        order.append(offer.id)
        return nil
    }

    /// The undecided offers of `address`, oldest first.
    private func offers(from address: String) -> [String] {
        order.filter { slots[$0]?.offer.address == address && slots[$0]?.decided == nil }
    }

    /// The oldest undecided offer of an address that holds at least two more offers than the
    /// newcomer's, or nil.
    private func evictionCandidate(newcomerHolds held: Int) -> String? {
        var counts: [String: Int] = [:]
        for id in order {
            guard let slot = slots[id], slot.decided == nil else { continue }
            counts[slot.offer.address, default: 0] += 1
        }
        return order.first { id in
            guard let slot = slots[id], slot.decided == nil else { return false }
            return counts[slot.offer.address, default: 0] >= held + 2
        }
    }

    private func evict(_ id: String, reason: String) {
        guard var slot = slots[id] else { return }
        if let waiter = slot.waiter {
            remove(id)
            waiter.resume(returning: .evicted(reason))
        } else {
            // The session has not started waiting yet: it finds the decision when it does.
            slot.decided = .evicted(reason)
            slots[id] = slot
            order.removeAll { $0 == id }
        }
    }

    package var all: [PendingOffer] { order.compactMap { slots[$0]?.offer } }

    /// Suspends until the offer is decided (or its decision, if already made).
    package func wait(_ id: String) async -> Decision {
        if let decided = slots[id]?.decided {
            remove(id)
            return decided
        }
        guard slots[id] != nil else { return .withdrawn }
        return await withCheckedContinuation { continuation in
            slots[id]?.waiter = continuation
        }
    }

    /// Resolves an offer once; later calls for the same offer do nothing.
    package func resolve(_ id: String, _ decision: Decision) {
        guard var slot = slots[id], slot.decided == nil else { return }
        if let waiter = slot.waiter {
            remove(id)
            waiter.resume(returning: decision)
        } else {
            slot.decided = decision
            slots[id] = slot
        }
    }

    /// Picks the offer a command means: the one named by `id` (or its prefix), or the only one
    /// of the right kind. Several candidates is an error that lists them.
    package func select(id: String?, needsCode: Bool) throws(AgentError) -> PendingOffer {
        let candidates = all.filter { $0.needsCode == needsCode && slots[$0.id]?.decided == nil }
        if let id {
            let matches = all.filter { $0.id.hasPrefix(id.lowercased()) }
            guard let match = matches.first, matches.count == 1 else {
                throw AgentError(.usage, matches.isEmpty ? "No pending offer has the id '\(DisplayEscape.escape(id))'. See `peershare inbox`." : "'\(DisplayEscape.escape(id))' matches several offers; give more of the id.")
            }
            return match
        }
        guard !candidates.isEmpty else {
            throw AgentError(.usage, needsCode ? "No offer is waiting for a pairing code. See `peershare inbox`." : "No offer is waiting for a yes or no. See `peershare inbox`.")
        }
        guard candidates.count == 1 else {
            let list = candidates.map { "  \($0.id)  from \(DisplayEscape.escape($0.peer)) (\($0.fingerprint))" }.joined(separator: "\n")
            throw AgentError(.usage, "Several offers are waiting; name one with --offer ID:\n\(list)")
        }
        return candidates[0]
    }

    private func remove(_ id: String) {
        slots.removeValue(forKey: id)
        order.removeAll { $0 == id }
    }
}
