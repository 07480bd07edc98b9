import PeershareTransfer

/// A peer given by address in the config file (`peers = [...]`) or with `run --peer`: probed
/// from time to time, so that it is found where mDNS does not reach (another subnet, a VPN).
public struct StaticPeer: Sendable, Hashable, CustomStringConvertible {
    /// Its host (an IP address, IPv6 with `%interface` for link-local, or a DNS name resolved
    /// again at every probe) and port.
    public var address: PeerAddress

    public init(host: String, port: Int) { address = PeerAddress(host: host, port: port) }

    /// Parses `HOST`, `HOST:PORT`, `[IPv6]:PORT` or a bare IPv6 address; the port defaults to
    /// `defaultPort`. Nil for anything else (empty, spaces, a port out of range).
    public init?(parsing text: String, defaultPort: Int) {
        guard !text.isEmpty, text.utf8.count <= 300, !text.contains(where: { $0 == " " || $0 == "/" || $0.isNewline }) else { return nil }
        if let address = PeerAddress(parsing: text) {
            self.init(host: address.host, port: address.port)
        } else if text.hasPrefix("["), text.hasSuffix("]"), text.count > 2 {
            self.init(host: String(text.dropFirst().dropLast()), port: defaultPort)
        } else if !text.contains("[") && !text.contains("]") && (text.filter { $0 == ":" }.count != 1) {
            self.init(host: text, port: defaultPort)
        } else {
            return nil
        }
    }

    public var description: String { address.description }

    /// What `peers` and the errors say about the accepted forms.
    public static let forms = "HOST, HOST:PORT or [IPv6]:PORT, like \"nas.lan\", \"192.168.1.20:53317\" or \"[fe80::1%eth0]:53317\""
}
