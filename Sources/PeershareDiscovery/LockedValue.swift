// A tiny lock for state that lives outside Avahi's poll lock.

import Foundation

/// A value guarded by an `NSLock`.
///
/// Locking invariant (why `@unchecked Sendable` is sound): `value` is read and written
/// only inside `withLock`, which holds `lock` for the whole closure.
final class LockedValue<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
