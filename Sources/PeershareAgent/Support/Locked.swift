import NIOConcurrencyHelpers

/// A value guarded by a lock: `withLock` holds it for the whole closure.
///
/// Used instead of Swift's `Synchronization.Mutex` because ThreadSanitizer cannot see that
/// one on Linux (it locks with a raw futex, which TSan does not intercept), so every value
/// behind it showed up as a data race in `swift test --sanitize=thread`, hiding any real
/// one. This wraps NIO's `NIOLock`, a `pthread_mutex_t`, which TSan understands; the cost
/// of an uncontended lock is the same.
///
/// Locking invariant (why `@unchecked Sendable` is sound): `value` is read and written only
/// inside `withLock`, which holds `lock` for the whole closure.
public final class Locked<Value> {
    private let lock = NIOLock()
    private var value: Value

    public init(_ value: Value) {
        self.value = value
    }

    /// Runs `body` with the value while holding the lock.
    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        try lock.withLock { try body(&value) }
    }
}

extension Locked: @unchecked Sendable where Value: Sendable {}
