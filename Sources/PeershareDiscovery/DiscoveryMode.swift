// Which mDNS stack the agent uses: `--discovery auto|daemon|embedded|off`.

/// How the agent discovers peers and is discovered.
public enum DiscoveryMode: String, Sendable, CaseIterable, Codable {
    /// The system's avahi-daemon when one runs, else the embedded stack; switches to the
    /// daemon when it appears, and back to the embedded stack when it stays gone.
    case auto
    /// Only the system's avahi-daemon (over D-Bus); an error if none is reachable at start.
    case daemon
    /// Avahi's embeddable stack (libavahi-core) inside the agent, even if a daemon runs.
    case embedded
    /// No mDNS at all: peers are reached as HOST:PORT.
    case off
}

/// The stack actually in use, as `status` and the log report it.
public enum DiscoveryStack: String, Sendable, Codable {
    /// The system's avahi-daemon, through libavahi-client.
    case daemon = "avahi-daemon"
    /// libavahi-core inside this process.
    case embedded = "embedded"
}
