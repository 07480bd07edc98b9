import Logging
import PeershareCore
import PeershareDiscovery
import PeershareTransfer

/// The discovery back end for the agent's `--discovery` mode. The rest of the agent
/// sees only `DiscoveryBackend`, whichever stack runs behind it.
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
}
