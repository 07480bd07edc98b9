/// Makes any name safe to print on a terminal or write to a log.
///
/// A sender chooses file names and its own display name; printed raw, `ESC [ 1 A CR` can
/// rewrite earlier lines and U+202E can make `gpj.exe` look like `exe.jpg`
/// (hostile-inputs.md item 4, croc CVE-2023-43620). Every place that shows peer text
/// goes through `escape`, even for names that passed `PathRules`.
public enum DisplayEscape {
    /// Escapes C0 controls, DEL and C1 controls as `\xNN`, bidi and invisible direction
    /// controls as `\u{NNNN}`, and a backslash as `\\` (so the output is unambiguous).
    /// Everything else, including all other Unicode, is unchanged.
    public static func escape(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in s.unicodeScalars {
            append(scalar, to: &out)
        }
        return String(out)
    }

    /// Escapes bytes that may not be valid UTF-8: each byte that does not start a valid
    /// UTF-8 sequence becomes `\xNN`; valid scalars are escaped as by `escape(_:)`.
    public static func escape(bytes: some Collection<UInt8>) -> String {
        let b = Array(bytes)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < b.count {
            if let (scalar, length) = decodeScalar(b, at: i) {
                append(scalar, to: &out)
                i += length
            } else {
                out.append(contentsOf: "\\x\(hex(UInt32(b[i]), width: 2))".unicodeScalars)
                i += 1
            }
        }
        return String(out)
    }

    private static func append(_ scalar: Unicode.Scalar, to out: inout String.UnicodeScalarView) {
        let v = scalar.value
        if v < 0x20 || (0x7F...0x9F).contains(v) {
            out.append(contentsOf: "\\x\(hex(v, width: 2))".unicodeScalars)
        } else if PathRules.isBidiControl(scalar) {
            out.append(contentsOf: "\\u{\(hex(v, width: 4))}".unicodeScalars)
        } else if scalar == "\\" {
            out.append(contentsOf: "\\\\".unicodeScalars)
        } else {
            out.append(scalar)
        }
    }

    /// Decodes one well-formed UTF-8 scalar at `i` (shortest form, no surrogates,
    /// at most U+10FFFF), or returns nil.
    private static func decodeScalar(_ b: [UInt8], at i: Int) -> (Unicode.Scalar, Int)? {
        let lead = b[i]
        let length: Int
        let minimum: UInt32
        var value: UInt32
        switch lead {
        case 0x00...0x7F: return (Unicode.Scalar(lead), 1)
        case 0xC2...0xDF: length = 2; minimum = 0x80; value = UInt32(lead & 0x1F)
        case 0xE0...0xEF: length = 3; minimum = 0x800; value = UInt32(lead & 0x0F)
        case 0xF0...0xF4: length = 4; minimum = 0x10000; value = UInt32(lead & 0x07)
        default: return nil
        }
        guard i + length <= b.count else { return nil }
        for k in 1..<length {
            let c = b[i + k]
            guard c & 0xC0 == 0x80 else { return nil }
            value = value << 6 | UInt32(c & 0x3F)
        }
        guard value >= minimum, let scalar = Unicode.Scalar(value) else { return nil }
        return (scalar, length)
    }

    private static func hex(_ v: UInt32, width: Int) -> String {
        let digits = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
