import SodiumKit

/// The names under which a receiver keeps what it holds from one sender, so that only the
/// same sender with the same content can continue a file (docs/PROTOCOL.md §6).
///
/// Both sides compute them: the receiver to name files in its partial area and to check a
/// RESUME claim, the sender to find its files among the receiver's HOLDING records.
public enum ResumeKeys {
    /// `crypto_generichash(16, lv_cat("peershare/v1/resume-file", IDs_pk, path, u64be size,
    /// i64be mtime seconds, u32be mtime nanoseconds))`. The sender's identity key makes a
    /// partial file useless to any other sender; size and time make it useless to changed
    /// content (and the prefix hash catches a change that kept both).
    public static func fileKey(sender: [UInt8], path: String, size: UInt64, mtimeSeconds: Int64, mtimeNanoseconds: UInt32) -> [UInt8] {
        var fields: [UInt8] = []
        fields.reserveCapacity(24)
        appendBigEndian(size, to: &fields)
        appendBigEndian(UInt64(bitPattern: mtimeSeconds), to: &fields)
        for shift in stride(from: 24, through: 0, by: -8) { fields.append(UInt8(truncatingIfNeeded: mtimeNanoseconds >> UInt32(shift))) }
        let input = LV.cat(Array("peershare/v1/resume-file".utf8), sender, Array(path.utf8), fields)
        return Hash.generic(input, length: .bytes16)
    }

    /// The key of `entry` (a file) sent by `sender`.
    public static func fileKey(sender: [UInt8], entry: Entry) -> [UInt8] {
        fileKey(sender: sender, path: entry.path.string, size: entry.size,
                mtimeSeconds: entry.mtimeSeconds, mtimeNanoseconds: entry.mtimeNanoseconds)
    }

    /// `crypto_generichash(16, lv_cat("peershare/v1/resume-sender", IDs_pk))` in lowercase
    /// hex: the prefix of every partial-area name that belongs to this sender.
    public static func senderTag(_ sender: [UInt8]) -> String {
        let input = LV.cat(Array("peershare/v1/resume-sender".utf8), sender)
        return hex(Hash.generic(input, length: .bytes16))
    }

    /// Lowercase hex.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func appendBigEndian(_ value: UInt64, to bytes: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }
}
