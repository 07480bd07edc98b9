import PeershareCore

/// The one plaintext message that may interrupt a handshake: "I am stopping, and why".
///
/// Layout: `0x7F`, a reason byte, a 2-byte big-endian length, then at most 512 bytes of
/// UTF-8 text. It is unauthenticated, so it is used only to choose the message shown to the
/// person; an attacker who can send it could equally just cut the connection.
struct AbortFrame: Equatable {
    enum Reason: UInt8 {
        case declined = 1
        case wrongCode = 2
        case expired = 3
        case busy = 4
        case protocolError = 5
        case cancelled = 6
        case security = 7
    }

    static let type: UInt8 = 0x7F
    static let maxText = 512

    var reason: Reason
    var text: String

    func encode() -> [UInt8] {
        let bytes = Array(text.utf8.prefix(Self.maxText))
        return [Self.type, reason.rawValue, UInt8(bytes.count >> 8), UInt8(bytes.count & 0xff)] + bytes
    }

    /// Parses an abort frame; nil if `bytes` is not one (or is malformed).
    static func decode(_ bytes: [UInt8]) -> AbortFrame? {
        guard bytes.count >= 4, bytes[0] == type else { return nil }
        let length = Int(bytes[2]) << 8 | Int(bytes[3])
        guard length <= maxText, bytes.count == 4 + length else { return nil }
        let reason = Reason(rawValue: bytes[1]) ?? .protocolError
        let text = String(decoding: bytes[4...], as: UTF8.self)
        return AbortFrame(reason: reason, text: text)
    }

    /// The version to dial again with when this abort answered an M1 that offered `offered`:
    /// reason 5 before M2 is how a receiver refuses a version (docs/PROTOCOL.md, Versions).
    func lowerVersion(than offered: ProtocolVersion) -> ProtocolVersion? {
        guard reason == .protocolError else { return nil }
        return ProtocolVersion.fallback(refused: offered, abortText: text)
    }

}
