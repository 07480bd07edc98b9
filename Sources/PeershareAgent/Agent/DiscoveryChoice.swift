import Logging
import PeershareCore
import PeershareDiscovery
import PeershareTransfer

/// The one place that turns a `--discovery` mode into a stack: the agent's, for its whole
/// life, and a one-off browse's (`peers` and `send` without an agent). The rest sees only
/// `DiscoveryBackend`, whichever stack runs behind it.
public enum DiscoveryChoice {
    /// nil for `off`. `daemon` first asks whether avahi-daemon answers: without one,
    /// that mode cannot work, and saying so at once beats an agent nobody can find.
    public static func backend(for options: AgentOptions, logger: Logger) async throws(AgentError) -> (any DiscoveryBackend)? {
        let interfaces = InterfaceFilter(options.discoveryInterfaces)
        switch options.discovery {
        case .off:
            return nil
        case .auto:
            return AutoDiscovery(interfaces: interfaces, logger: logger)
        case .embedded:
            return AvahiEmbeddedDiscovery(interfaces: interfaces, logger: logger)
        case .daemon:
            if let problem = await AvahiDaemonDiscovery.probe(logger: logger) {
                throw AgentError(.general, "--discovery daemon, but no avahi-daemon can be reached: \(problem). "
                    + "Start it (systemctl start avahi-daemon), or run with --discovery auto (the embedded mDNS stack when no daemon runs) or --discovery embedded.")
            }
            return AvahiDaemonDiscovery(interfaces: interfaces, logger: logger)
        }
    }

    /// For a browse of a few seconds: nil for `off`; in the auto mode, the daemon if it
    /// answers within a second, else the embedded stack, with no switching afterwards.
    static func oneOffBackend(for mode: DiscoveryMode, interfaces: InterfaceFilter, logger: Logger) async -> (any DiscoveryBackend)? {
        switch mode {
        case .off:
            return nil
        case .daemon:
            return AvahiDaemonDiscovery(interfaces: interfaces, logger: logger)
        case .embedded:
            return AvahiEmbeddedDiscovery(interfaces: interfaces, logger: logger)
        case .auto:
            let daemonProblem = await AvahiDaemonDiscovery.probe(timeout: .seconds(1), logger: logger)
            return daemonProblem == nil
                ? AvahiDaemonDiscovery(interfaces: interfaces, logger: logger)
                : AvahiEmbeddedDiscovery(interfaces: interfaces, logger: logger)
        }
    }
}
