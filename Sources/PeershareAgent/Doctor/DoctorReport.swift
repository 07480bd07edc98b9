/// What `peershare doctor` found: one entry per check, in plain sentences a person can act on.
public struct DoctorCheck: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        /// Checked, and nothing stands in the way.
        case ok
        /// Checked, and this stops peers from finding or reaching each other.
        case problem
        /// Could not be checked (no permission, a tool missing, nothing to check).
        case unchecked
    }

    /// discovery, firewall, mdns, port, peer
    public var check: String
    public var status: Status
    public var message: String
    /// One line per item checked (an address tried, a rule found).
    public var details: [String]?

    public init(_ check: String, _ status: Status, _ message: String, details: [String]? = nil) {
        self.check = check
        self.status = status
        self.message = message
        self.details = details
    }
}

public struct DoctorReport: Codable, Sendable {
    public var checks: [DoctorCheck]
    /// True when no check found a problem (one that could not be run is not a problem).
    public var fine: Bool { !checks.contains { $0.status == .problem } }

    public init(checks: [DoctorCheck]) { self.checks = checks }
}
