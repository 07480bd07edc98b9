import PeershareTransfer
import TOMLKit

/// Peers reached by address rather than mDNS:
///
/// ```toml
/// peers = ["nas.lan", "192.168.7.20:53317", "[fe80::1%eth0]:53317"]
/// ```
extension ConfigFile {
    static let reachKeys = ["peers"]
    /// Static peers at most: each is probed every minute.
    static let maxStaticPeers = 64

    mutating func parseReach(_ table: TOMLTable, lines: KeyLines) throws(AgentError) {
        guard let raw = table["peers"] else { return }
        let line = lines.line(of: "peers", in: nil)
        let shape = "\(path) line \(line): 'peers' must be a list of at most \(Self.maxStaticPeers) addresses: \(StaticPeer.forms)."
        guard let array = raw.array, array.count <= Self.maxStaticPeers else { throw AgentError(.usage, shape) }
        var peers: [String] = []
        for item in array {
            guard let text = item.string, StaticPeer(parsing: text, defaultPort: AgentOptions.defaultPort) != nil else {
                throw AgentError(.usage, shape)
            }
            peers.append(text)
        }
        staticPeers = Entry(value: peers, line: line)
    }
}
