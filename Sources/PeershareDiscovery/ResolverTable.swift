// The bookkeeping of browse results and their resolvers, shared by both back ends:
// which records exist, which resolver runs for which, when to try again. No Avahi calls:
// each session creates and frees the C objects, this says when.

/// Every browse result of a session, keyed by record, with its resolver while one runs.
/// Lives under the session's poll lock, like the rest of the session's state.
struct ResolverTable<Session: AnyObject & Sendable> {
    private var slots: [ResolverKey: ResolverSlot<Session>] = [:]

    /// A browser's NEW: false if the record is known already (nothing to resolve).
    mutating func add(_ key: ResolverKey) -> Bool {
        guard slots[key] == nil else { return false }
        slots[key] = ResolverSlot()
        return true
    }

    /// A browser's REMOVE: forgets the record; returns its running resolver, to be freed.
    mutating func remove(_ key: ResolverKey) -> AvahiHandle<Session>? {
        slots.removeValue(forKey: key)?.handle
    }

    /// Forgets every record; returns the running resolvers, to be freed.
    mutating func removeAll() -> [AvahiHandle<Session>] {
        defer { slots.removeAll() }
        return slots.values.compactMap(\.handle)
    }

    /// Whether a resolver may start for `key` now (a known record with none running);
    /// counts the attempt.
    mutating func beginAttempt(_ key: ResolverKey) -> Bool {
        guard slots[key] != nil, slots[key]?.handle == nil else { return false }
        slots[key]?.attempts += 1
        return true
    }

    /// The resolver created for `key` after `beginAttempt`.
    mutating func attach(_ handle: AvahiHandle<Session>, to key: ResolverKey) {
        slots[key]?.handle = handle
    }

    /// Records never resolved whose resolver could not be created: tried again at once
    /// a few times (retry timer).
    var keysToRetry: [ResolverKey] {
        slots.filter { $0.value.handle == nil && !$0.value.resolved && $0.value.attempts < ResolvePolicy.immediateAttempts }
            .map(\.key)
    }

    /// Records whose refresh is due, with their attempt counts reset (refresh timer).
    mutating func keysToRefresh(now: ContinuousClock.Instant = .now) -> [ResolverKey] {
        let due = slots.filter { slot in
            slot.value.handle == nil && slot.value.refreshDue.map { $0 <= now } == true
        }.map(\.key)
        for key in due { slots[key]?.attempts = 0 }
        return due
    }

    /// What to do after a resolver's answer.
    struct Outcome {
        /// Free it (its own callback may do so); the result must be copied first.
        var handle: AvahiHandle<Session>
        /// Start another resolver for the record at once (failed, never resolved, attempts left).
        var retryNow: Bool
    }

    /// A resolver of `key` answered (`found`, or failed). nil if it is not the record's
    /// current resolver (a stale callback). A record never resolved is tried again at
    /// once a few times, then at the next refresh; one resolved before keeps its last
    /// data (only the browser's REMOVE ends it).
    mutating func finish(_ key: ResolverKey, resolver: OpaquePointer, found: Bool) -> Outcome? {
        guard var slot = slots[key], let handle = slot.handle, handle.pointer == resolver else { return nil }
        slot.handle = nil
        slot.refreshDue = ResolvePolicy.nextRefresh()
        if found {
            slot.attempts = 0
            slot.resolved = true
        }
        slots[key] = slot
        return Outcome(handle: handle, retryNow: !found && !slot.resolved && slot.attempts < ResolvePolicy.immediateAttempts)
    }
}

/// Whether the back end last said it works or not, so that each outage is reported once.
struct AvailabilityReport {
    /// nil before the first report.
    private var lastSaidAvailable: Bool?

    /// True if `daemonUnavailable` should be sent now (not already said for this outage).
    mutating func becameUnavailable() -> Bool {
        guard lastSaidAvailable != false else { return false }
        lastSaidAvailable = false
        return true
    }

    /// True if `daemonAvailable` should be sent now.
    mutating func becameAvailable() -> Bool {
        guard lastSaidAvailable != true else { return false }
        lastSaidAvailable = true
        return true
    }
}
