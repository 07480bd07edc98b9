/// The optional features of protocol 1.1: a bit set sent as one varint at the end of OFFER
/// (what the sender can use) and of ACCEPT (the subset the receiver agrees to). A feature's
/// messages may be sent only when both set its bit; an unknown bit is ignored and left clear
/// in ACCEPT (docs/PROTOCOL.md, Versions).
///
/// Adding a feature is one line in `Capability`: its bit number, never reused. Everything
/// else (encoding, agreeing, leaving unknown bits clear) is done here and in the sessions;
/// a session tells its feature code what was agreed (`SecureChannel.capabilities`).
public struct Capabilities: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public init(_ capability: Capability) { rawValue = 1 << UInt64(capability.rawValue) }

    /// Every capability this build implements: what it offers as a sender and agrees to as
    /// a receiver.
    public static let implemented = Capabilities(Capability.allCases.filter { $0 != .reserved })

    public init(_ list: [Capability]) {
        self = list.reduce(into: Capabilities()) { $0.insert(Capabilities($1)) }
    }

    /// What a receiver puts in ACCEPT for a sender that offered `offered`: the bits both
    /// implement, so an unknown bit is always left clear.
    public static func agreed(offered: Capabilities, implemented: Capabilities = .implemented) -> Capabilities {
        offered.intersection(implemented)
    }

    public func contains(_ capability: Capability) -> Bool { contains(Capabilities(capability)) }

    /// The known bits by name, then unknown ones by number ("none" when empty).
    public var description: String {
        var names = Capability.allCases.filter { $0 != .reserved && contains($0) }.map { "\($0)" }
        let unknown = subtracting(.implemented).rawValue
        for bit in 0..<64 where unknown & (1 << UInt64(bit)) != 0 { names.append("bit \(bit)") }
        return names.isEmpty ? "none" : names.joined(separator: ", ")
    }
}

/// One optional feature of protocol 1.1; its raw value is its bit number in `Capabilities`.
public enum Capability: UInt8, Sendable, CaseIterable {
    // One line per feature; bit numbers are never reused.
    /// A one-file offer of short UTF-8 text may travel as one TEXT message in place of the
    /// file's ENTRY and DATA, so the receiver can show it (docs/PROTOCOL.md, TEXT).
    case text = 0
    /// Bit 63 is reserved and never offered (and gives this list a case before the first
    /// feature: Swift has no empty enum with raw values).
    case reserved = 63
}
