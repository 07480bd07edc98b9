import NIOConcurrencyHelpers

/// A counter of control connections in use, capped: `take` fails when all are in use.
final class ControlSlots: Sendable {
    private let inUse = NIOLockedValueBox(0)
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// Takes a slot; false when all `capacity` are taken.
    func take() -> Bool {
        inUse.withLockedValue { count in
            guard count < capacity else { return false }
            count += 1
            return true
        }
    }

    func release() { inUse.withLockedValue { $0 -= 1 } }

    /// Slots in use now (for tests).
    var count: Int { inUse.withLockedValue { $0 } }
}
