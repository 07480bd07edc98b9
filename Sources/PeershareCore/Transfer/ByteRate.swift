/// A rate as people write it for `--limit-rate` and `limit_rate`: bytes a second, with an
/// optional suffix k, M or G (powers of 1024, as curl and rsync read them) and an optional
/// fraction ("1.5M"). 0 means no limit; any other rate is at least 1 KiB/s, since a slower one
/// would let the receiver's progress rule (`limits.progress_bytes` per `progress_window`) end
/// the transfer.
public enum ByteRate {
    /// The largest rate accepted: 1 TiB/s (far above any link, and safe from overflow).
    public static let maximum: UInt64 = 1 << 40
    /// The smallest rate other than 0: 1 KiB/s.
    public static let minimum: UInt64 = 1 << 10

    /// Bytes a second, or nil when `text` is not a rate.
    public static func parse(_ text: String) -> UInt64? {
        var digits = Substring(text)
        var unit: Double = 1
        if let last = digits.last, let power = ["k": 10, "m": 20, "g": 30][last.lowercased()] {
            unit = Double(UInt64(1) << UInt64(power))
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.utf8.count <= 20,
              digits.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              digits.filter({ $0 == "." }).count <= 1, digits.first != ".", digits.last != ".",
              let number = Double(digits) else { return nil }
        let bytes = (number * unit).rounded()
        guard bytes == 0 || (Double(minimum)...Double(maximum)).contains(bytes) else { return nil }
        return UInt64(bytes)
    }

    /// What `parse` accepts, for error messages.
    public static let help = "a number of bytes a second with an optional k, M or G (1024-based), like 500k or 10M (at least 1k), or 0 for no limit"
}
