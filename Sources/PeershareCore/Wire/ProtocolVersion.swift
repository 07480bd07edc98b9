/// A protocol version: the byte in M1 (docs/PROTOCOL.md, Versions). The sender offers its
/// highest; a receiver answers in that version or refuses it with Abort 5 listing its own,
/// and the sender may dial once more with the highest version both speak.
public enum ProtocolVersion: UInt8, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    /// Protocol 1.0: the messages of §3–§6, nothing optional.
    case v1_0 = 1
    /// Protocol 1.1: OFFER and ACCEPT end with a capabilities varint, and HELLO (an
    /// authenticated probe that carries no offer) may replace OFFER in a KNOWN session.
    case v1_1 = 2

    /// What this agent puts in M1.
    public static let highest: ProtocolVersion = .v1_1

    /// Whether OFFER and ACCEPT carry the capabilities varint (and HELLO exists).
    public var hasCapabilities: Bool { self >= .v1_1 }

    /// "1.0", "1.1": as people and the document name it.
    public var description: String {
        switch self {
        case .v1_0: "1.0"
        case .v1_1: "1.1"
        }
    }

    public static func < (lhs: ProtocolVersion, rhs: ProtocolVersion) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The version to offer on a second connection after a receiver refused ours with
    /// `text` (Abort 5, `unsupported protocol version V; supported versions: A,B`): the
    /// highest both speak below the refused one. Text that cannot be parsed (a receiver that
    /// predates the rule) gives 1.0; nil when nothing in common is left.
    public static func fallback(refused: ProtocolVersion, abortText text: String) -> ProtocolVersion? {
        guard let colon = text.lastIndex(of: ":"), text[..<colon].hasSuffix("supported versions") else {
            return refused > .v1_0 ? .v1_0 : nil
        }
        let listed = text[text.index(after: colon)...].split(separator: ",").compactMap { UInt8(String($0.filter { $0 != " " })) }
        return listed.compactMap(ProtocolVersion.init(rawValue:)).filter { $0 < refused }.max()
    }
}
