internal import CSodium

/// How identity keys are shown to people: a short, stable rendering of
/// `crypto_generichash(16, publicKey)`.
public enum Fingerprint {
    /// `crypto_generichash(16, pk)` rendered as 32 lowercase hex digits in 8 groups of 4 joined by
    /// "-", e.g. "3f2a-9c01-77de-4b10-...".
    public static func full(of publicKey: [UInt8]) -> String {
        groups(of: publicKey).joined(separator: "-")
    }

    /// The first 4 groups ("3f2a-9c01-77de-4b10"), for tables.
    public static func short(of publicKey: [UInt8]) -> String {
        groups(of: publicKey).prefix(4).joined(separator: "-")
    }

    /// The first 2 groups ("3f2a-9c01"): what a renamed advert appends to a shared name,
    /// and so what `peers` shows to tell two peers of one name apart.
    public static func tag(of publicKey: [UInt8]) -> String {
        groups(of: publicKey).prefix(2).joined(separator: "-")
    }

    /// Lowercased hex with "-", ":" and spaces removed, for prefix matching of user input.
    public static func normalized(_ text: String) -> String {
        String(text.lowercased().filter { $0 != "-" && $0 != ":" && $0 != " " })
    }

    /// The 16-byte digest as 8 groups of 4 hex digits.
    private static func groups(of publicKey: [UInt8]) -> [String] {
        Sodium.ensureInitialized()
        var digest = [UInt8](repeating: 0, count: 16)
        digest.withMutableBytePointer { out in
            publicKey.withBytePointer { input in
                // Cannot fail: 16 is a valid output length and there is no key.
                _ = crypto_generichash(out, 16, input, UInt64(publicKey.count), nil, 0)
            }
        }
        let hex = Hex.encode(digest)
        return stride(from: 0, to: hex.count, by: 4).map { start in
            let from = hex.index(hex.startIndex, offsetBy: start)
            return String(hex[from..<hex.index(from, offsetBy: 4)])
        }
    }
}

/// Lowercase hexadecimal.
package enum Hex {
    private static let digits: [Character] = Array("0123456789abcdef")

    /// Lowercase hex digits, two per byte.
    package static func encode(_ bytes: [UInt8]) -> String {
        var text = ""
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return text
    }

    /// Parses hex digits (either case, no separators); nil on an odd length or a non-hex character.
    package static func decode(_ text: String) -> [UInt8]? {
        let scalars = Array(text.unicodeScalars)
        guard scalars.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(scalars.count / 2)
        var index = 0
        while index < scalars.count {
            guard let high = value(scalars[index]), let low = value(scalars[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func value(_ scalar: Unicode.Scalar) -> UInt8? {
        switch scalar {
        case "0"..."9": UInt8(scalar.value - 48)
        case "a"..."f": UInt8(scalar.value - 87)
        case "A"..."F": UInt8(scalar.value - 55)
        default: nil
        }
    }
}
