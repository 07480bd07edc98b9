import SodiumKit

/// The 6-digit pairing code: the CPace password. The sender shows it, the receiving person types it;
/// it never goes over the wire. Printing it shows "PairingCode(redacted)": use `display` on purpose.
public struct PairingCode: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The six ASCII digits, e.g. "428913".
    public let digits: String

    private init(validDigits: String) {
        digits = validDigits
    }

    /// A fresh uniformly random code (`randombytes_uniform(1_000_000)`), zero-padded to 6 digits.
    public static func random() -> PairingCode {
        let value = Random.uniform(1_000_000)
        let text = String(value)
        return PairingCode(validDigits: String(repeating: "0", count: 6 - text.count) + text)
    }

    /// Parses what a person typed: "428913", "428 913", " 428-913 " (spaces, tabs and dashes are
    /// ignored). Nil unless exactly 6 ASCII digits remain.
    public init?(typed: String) {
        var digits = ""
        for scalar in typed.unicodeScalars {
            switch scalar {
            case " ", "\t", "-":
                continue
            case "0"..."9":
                digits.unicodeScalars.append(scalar)
            default:
                return nil
            }
        }
        guard digits.unicodeScalars.count == 6 else { return nil }
        self.init(validDigits: digits)
    }

    /// The code for showing to a person: "428 913".
    public var display: String {
        String(digits.prefix(3)) + " " + String(digits.suffix(3))
    }

    /// The CPace password: the six ASCII digits.
    var passwordBytes: [UInt8] { Array(digits.utf8) }

    /// Constant-time comparison.
    public static func == (lhs: PairingCode, rhs: PairingCode) -> Bool {
        ConstantTime.equal(Array(lhs.digits.utf8), Array(rhs.digits.utf8))
    }

    public var description: String { "PairingCode(redacted)" }
    public var debugDescription: String { "PairingCode(redacted)" }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
