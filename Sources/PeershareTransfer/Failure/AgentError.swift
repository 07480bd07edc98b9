/// An error a person can act on: a class (which decides the exit code), a message that says
/// what happened and what to do next, and the underlying cause for `-v` output.
///
/// Every failure that reaches the command line is one of these, so that `send` and the
/// other subcommands can map it to the documented exit status.
public struct AgentError: Error, Sendable, CustomStringConvertible {
    /// The failure classes, each with its own exit status (documented in the man page).
    public enum Kind: String, Sendable, Codable {
        case general
        case usage
        case unreachable
        case declined
        case wrongCode = "wrong-code"
        case expired
        case noSpace = "no-space"
        case io
        case security
        case noAgent = "no-agent"
        case cancelled
        case protocolError = "protocol"
        case busy
        /// The send finished, but some entries could not be sent (names or types that cannot
        /// cross the wire) and the person did not ask to skip them.
        case partial

    }

    public let kind: Kind
    public let message: String
    public let underlying: String?

    public init(_ kind: Kind, _ message: String, underlying: (any Error)? = nil) {
        self.kind = kind
        self.message = message
        self.underlying = underlying.map { String(describing: $0) }
    }

    public var description: String { message }
}
