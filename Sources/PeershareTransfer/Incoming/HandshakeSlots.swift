/// The connections that are in the handshake (not yet authenticated), capped in number.
///
/// Each holds a slot from accept until its key confirmation, or until its offer is on the
/// offer board (which caps waiting offers on its own). When a new connection finds every
/// slot taken, the oldest connection that has not yet proved to be a real peer is evicted.
struct HandshakeSlots {
    private struct Slot {
        var timer: ConnectionTimer
        var provedPeer = false
    }

    private var slots: [UInt64: Slot] = [:]
    private var next: UInt64 = 0

    /// A slot for the connection of `timer` (nil if none can be freed), and the timer of the
    /// connection to close if one was evicted.
    mutating func enter(_ timer: ConnectionTimer, capacity: Int) -> (UInt64?, ConnectionTimer?) {
        var evicted: ConnectionTimer?
        if slots.count >= capacity {
            // Slot numbers grow with time, so the smallest unproven one is the oldest.
            guard let oldest = slots.filter({ !$0.value.provedPeer }).keys.min() else { return (nil, nil) }
            evicted = slots.removeValue(forKey: oldest)?.timer
        }
        next += 1
        slots[next] = Slot(timer: timer)
        return (next, evicted)
    }

    mutating func started(_ slot: UInt64) { slots[slot]?.provedPeer = true }

    mutating func leave(_ slot: UInt64) { slots.removeValue(forKey: slot) }

    var count: Int { slots.count }
}
