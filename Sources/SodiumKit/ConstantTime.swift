internal import CSodium

/// Comparisons whose time does not depend on where the inputs differ.
public enum ConstantTime {
    /// Whether `a` and `b` hold the same bytes (`sodium_memcmp`). Lengths are not secret: different
    /// lengths return false at once. Two empty arrays are equal.
    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        guard !a.isEmpty else { return true }
        return a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                sodium_memcmp(pa.baseAddress, pb.baseAddress, a.count) == 0
            }
        }
    }
}

/// Wiping of scratch buffers that held secrets.
package enum Memory {
    /// Overwrites the array's bytes with zeros (`sodium_memzero`) and empties it. Copies made
    /// earlier (Swift arrays are copy-on-write) are not reached: wipe the last holder.
    package static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { buffer in
            if let base = buffer.baseAddress {
                sodium_memzero(base, buffer.count)
            }
        }
        bytes.removeAll()
    }
}
