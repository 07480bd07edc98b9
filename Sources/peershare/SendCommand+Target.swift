import Logging
import PeershareAgent
import PeershareCore
import PeershareDiscovery
import PeershareTransfer

extension SendCommand {
    /// The target of a send without an agent: no live table, so PEER is looked up with a short
    /// browse (as `peers` does), unless it is HOST:PORT; a paired peer is also found by name
    /// at its remembered addresses, with discovery off or when mDNS does not reach it.
    func resolveTarget(agent: Agent, options: AgentOptions, logger: Logger) async throws(AgentError) -> SendTarget {
        let known = try KnownPeers.read(trust: agent.trust, book: agent.addressBook, defaultPort: AgentOptions.defaultPort)
        guard PeerAddress(parsing: to) == nil else { return try PeerResolver.resolve(to, peers: [], known: known) }
        let (found, problem) = await PeerDirectory.browseOnce(
            seconds: 2.5, ownKey: agent.identity.publicKey, mode: options.discovery,
            interfaces: options.discoveryInterfaces, logger: logger)
        do {
            return try PeerResolver.resolve(to, peers: found, known: known)
        } catch where found.isEmpty && error.kind == .usage {
            guard let problem else { throw error }
            throw AgentError(.unreachable, "Cannot look up '\(DisplayEscape.escape(to))': discovery is not available (\(problem)), and no paired peer has that name. Give HOST:PORT instead.")
        }
    }
}
