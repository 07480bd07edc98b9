/// A path inside an offer that has passed `PathRules`: no empty, `.` or `..` component,
/// no NUL, control, bidi-override or backslash characters, within the length and depth caps.
///
/// Holding a `RelativePath` is proof of validation; the only way to make one from
/// untrusted text is `init(validating:)`.
public struct RelativePath: Sendable, Hashable, CustomStringConvertible {
    /// The components, each a valid file name.
    public let components: [String]
    /// The `/`-joined path, exactly the bytes that go on the wire. Kept next to the
    /// components because every entry needs it several times (encoding, accounting, the
    /// receiver's placement), and joining it each time was a measurable share of the CPU
    /// for a tree of small files.
    public let string: String

    /// Validates `text` (a `/`-separated path as it came from the wire or the disk).
    public init(validating text: String) throws(PathError) {
        self.components = try PathRules.validatedComponents(of: text)
        self.string = text
    }

    /// Validates components one by one (used when building paths from a directory walk).
    /// A part containing `/` is rejected rather than silently split into two components.
    public init(validatingComponents parts: [String]) throws(PathError) {
        self.components = try PathRules.validatedComponents(components: parts)
        self.string = components.joined(separator: "/")
    }

    // Identity is the components, not the cached text.
    public static func == (lhs: RelativePath, rhs: RelativePath) -> Bool { lhs.components == rhs.components }
    public func hash(into hasher: inout Hasher) { hasher.combine(components) }

    /// The first component: the top-level name in the receiver's inbox.
    public var topLevel: String { components[0] }

    /// The last component.
    public var name: String { components[components.count - 1] }

    /// Number of components.
    public var depth: Int { components.count }

    /// The path without its last component, or nil for a top-level path.
    public var parent: RelativePath? {
        guard components.count > 1 else { return nil }
        let nameBytes = components[components.count - 1].utf8.count
        return RelativePath(trusted: Array(components.dropLast()),
                            string: String(decoding: string.utf8.dropLast(nameBytes + 1), as: UTF8.self))
    }

    /// This path with the first component replaced (used when a top-level name is taken
    /// in the inbox and gets a ` (2)` suffix). The new name must itself be valid.
    public func replacingTopLevel(with newName: String) throws(PathError) -> RelativePath {
        var parts = components
        parts[0] = newName
        return try RelativePath(validatingComponents: parts)
    }

    /// Appends one component, validating the result. This path is valid already, so only
    /// the new component, the depth and the total length need checking
    /// (`PathRules.isValidAppended`); if that fails, the whole path is validated again
    /// so that the error is exactly the one `init(validatingComponents:)` gives. A tree
    /// walk calls this once per entry, which made revalidating every parent again and
    /// again a third of the sender's planning time.
    public func appending(_ component: String) throws(PathError) -> RelativePath {
        if PathRules.isValidAppended(component, toDepth: components.count, bytes: string.utf8.count) {
            return RelativePath(trusted: components + [component], string: string + "/" + component)
        }
        return try RelativePath(validatingComponents: components + [component])
    }

    public var description: String { string }

    private init(trusted: [String], string: String) {
        self.components = trusted
        self.string = string
    }
}
