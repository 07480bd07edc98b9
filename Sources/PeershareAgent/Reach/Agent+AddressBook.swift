import Foundation
import Logging
import NIOCore
import PeershareDiscovery
import PeershareTransfer
import SodiumKit

extension Agent {
    /// Records where a handshake proved `key`: the address this side dialled, or the host the
    /// peer dialled from (its source port is not where it listens, so only the host is kept).
    /// A state directory that cannot be written costs the hint only, never the session: it is
    /// logged.
    func noteProven(_ key: [UInt8], at place: ProvenAt) {
        switch place {
        case .dialled(let address):
            note(key, host: address.host, port: address.port, way: .dialled)
        case .incoming(let remote):
            guard let host = remote.flatMap(Self.scopedHost) else { return }
            note(key, host: host, port: nil, way: .incoming)
        }
    }

    /// Records the addresses a paired peer announces over mDNS (hints: a send still needs the
    /// handshake to prove the key there). Unpaired peers are not recorded.
    func noteAnnounced(_ peer: DiscoveredPeer) {
        guard let key = Hex.decode(peer.publicKeyHex), key.count == 32 else { return }
        do {
            guard try trust.pin(forKey: key) != nil else { return }
        } catch {
            logger.warning("cannot read the pins to remember an announced address", metadata: ["error": "\(error.message)"])
            return
        }
        for endpoint in peer.endpoints {
            note(key, host: endpoint.host, port: Int(endpoint.port), way: .advertised)
        }
    }

    private func note(_ key: [UInt8], host: String, port: Int?, way: RememberedAddress.Way) {
        do {
            try addressBook.record(key: key, host: host, port: port, way: way)
        } catch {
            logger.warning("cannot remember the peer's address", metadata: ["net.address": "\(host)", "error": "\(error.message)"])
        }
    }

    /// The remote host as a dial needs it: an IPv6 link-local address gets its interface
    /// (`fe80::1%eth0`), without which it cannot be dialled; an IPv4-mapped IPv6 address
    /// becomes plain IPv4.
    static func scopedHost(_ address: SocketAddress) -> String? {
        guard let ip = address.ipAddress else { return nil }
        if ip.hasPrefix("::ffff:"), ip.contains(".") { return String(ip.dropFirst(7)) }
        guard case .v6(let v6) = address, ip.lowercased().hasPrefix("fe80:") else { return ip }
        let scope = v6.address.sin6_scope_id
        var name = [CChar](repeating: 0, count: Int(IF_NAMESIZE) + 1)
        guard scope != 0, if_indextoname(scope, &name) != nil else { return nil }
        return ip + "%" + String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
