internal import CSodium

/// Heap storage for secret bytes that is wiped with `sodium_memzero` when the last reference
/// goes away. Swift arrays may be copied freely by the runtime and are never wiped; secret-holding
/// public types keep their bytes here instead.
///
/// `@unchecked Sendable` invariant: the buffer is written only inside `init` and only read
/// afterwards (until `deinit`, which runs when no other reference exists), so concurrent reads
/// from several threads are safe.
final class SecretBytes: @unchecked Sendable {
    private let pointer: UnsafeMutablePointer<UInt8>
    /// The number of secret bytes.
    let count: Int
    /// The result code of the `fill` closure given to `init(count:fill:)` (0 otherwise).
    let fillResult: Int32

    /// Copies `bytes` into fresh storage.
    init(copying bytes: some Collection<UInt8>) {
        count = bytes.count
        pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
        var index = 0
        for byte in bytes {
            pointer[index] = byte
            index += 1
        }
        fillResult = 0
    }

    /// Allocates `count` zeroed bytes and lets `fill` write them. `fill` returns a libsodium result
    /// code, kept in `fillResult` for the caller to check.
    init(count: Int, fill: (UnsafeMutablePointer<UInt8>) -> Int32) {
        self.count = count
        pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
        fillResult = fill(pointer)
    }

    deinit {
        sodium_memzero(pointer, max(count, 1))
        pointer.deallocate()
    }

    /// A pointer to the bytes, valid during `body` only.
    func withUnsafePointer<R>(_ body: (UnsafePointer<UInt8>) -> R) -> R {
        body(UnsafePointer(pointer))
    }

    /// A copy of the bytes as an array (which will not be wiped: use only where the bytes must leave).
    var array: [UInt8] {
        Array(UnsafeBufferPointer(start: pointer, count: count))
    }

    /// Compares in constant time with `sodium_memcmp`.
    func isEqual(to other: SecretBytes) -> Bool {
        guard count == other.count else { return false }
        return sodium_memcmp(pointer, other.pointer, count) == 0
    }
}
