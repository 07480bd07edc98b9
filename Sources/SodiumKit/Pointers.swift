/// Non-null pointers for libsodium parameters declared `nonnull`. An empty Swift array may have no
/// buffer (`baseAddress == nil`); libsodium reads nothing for a zero length but still wants a
/// pointer, so a one-byte stand-in is passed then.
extension Array where Element == UInt8 {
    /// Calls `body` with a pointer to the bytes (a stand-in when empty).
    @inline(__always)
    func withBytePointer<R>(_ body: (UnsafePointer<UInt8>) -> R) -> R {
        withUnsafeBufferPointer { buffer in
            if let base = buffer.baseAddress { return body(base) }
            let standIn: UInt8 = 0
            return Swift.withUnsafePointer(to: standIn) { body($0) }
        }
    }

    /// Calls `body` with a mutable pointer to the bytes (a stand-in when empty).
    @inline(__always)
    mutating func withMutableBytePointer<R>(_ body: (UnsafeMutablePointer<UInt8>) -> R) -> R {
        withUnsafeMutableBufferPointer { buffer in
            if let base = buffer.baseAddress { return body(base) }
            var standIn: UInt8 = 0
            return Swift.withUnsafeMutablePointer(to: &standIn) { body($0) }
        }
    }
}
