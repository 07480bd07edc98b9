/// A path inside an offer that has passed `PathRules`: no empty, `.` or `..` component,
/// no NUL, control, bidi-override or backslash characters, within the length and depth caps.
///
/// Holding a `RelativePath` is proof of validation; the only way to make one from
/// untrusted text is `init(validating:)`.
public struct RelativePath: Sendable, Hashable, CustomStringConvertible {
    /// The components, each a valid file name.
    public let components: [String]

    /// Validates `text` (a `/`-separated path as it came from the wire or the disk).
    public init(validating text: String) throws(PathError) {
        self.components = try PathRules.validatedComponents(of: text)
    }

    /// Validates components one by one (used when building paths from a directory walk).
    /// A part containing `/` is rejected rather than silently split into two components.
    public init(validatingComponents parts: [String]) throws(PathError) {
        self.components = try PathRules.validatedComponents(components: parts)
    }

    /// The `/`-joined path, exactly the bytes that go on the wire.
    public var string: String { components.joined(separator: "/") }

    /// The first component: the top-level name in the receiver's inbox.
    public var topLevel: String { components[0] }

    /// The last component.
    public var name: String { components[components.count - 1] }

    /// Number of components.
    public var depth: Int { components.count }

    /// The path without its last component, or nil for a top-level path.
    public var parent: RelativePath? {
        components.count > 1 ? RelativePath(trusted: Array(components.dropLast())) : nil
    }

    /// This path with the first component replaced (used when a top-level name is taken
    /// in the inbox and gets a ` (2)` suffix). The new name must itself be valid.
    public func replacingTopLevel(with newName: String) throws(PathError) -> RelativePath {
        var parts = components
        parts[0] = newName
        return try RelativePath(validatingComponents: parts)
    }

    /// Appends one component, validating the result.
    public func appending(_ component: String) throws(PathError) -> RelativePath {
        try RelativePath(validatingComponents: components + [component])
    }

    public var description: String { string }

    private init(trusted: [String]) { self.components = trusted }
}
