import Foundation

/// Rules of this host's firewall that drop what peershare needs: mDNS (UDP 5353) and the
/// agent's TCP port. Read from `nft -j list ruleset` (nftables, which also holds the rules
/// of iptables-nft); reading the ruleset needs root (CAP_NET_ADMIN).
public enum FirewallRules {
    /// One port a rule may drop.
    public struct Port: Sendable, Equatable {
        public var proto: String
        public var number: Int

        public init(_ proto: String, _ number: Int) {
            self.proto = proto
            self.number = number
        }
    }

    /// Each rule in the `nft -j` output that matches a destination port of `ports` and drops
    /// or rejects, described as "inet filter input (handle 4): udp dport 5353 drop". Rules
    /// that match other things too (an address, an interface) are listed as well: they may
    /// still apply.
    public static func drops(inNftJSON data: Data, ports: [Port]) -> [String] {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let items = root["nftables"] as? [[String: Any]] else { return [] }
        return items.compactMap { $0["rule"] as? [String: Any] }.compactMap { rule in
            guard let expressions = rule["expr"] as? [[String: Any]] else { return nil }
            let verdict = expressions.lazy.compactMap { expression in ["drop", "reject"].first { expression.keys.contains($0) } }.first
            guard let verdict else { return nil }
            let hits = expressions.compactMap { $0["match"] as? [String: Any] }.flatMap { matchedPorts($0, among: ports) }
            guard let hit = hits.first else { return nil }
            let place = "\(rule["family"] ?? "?") \(rule["table"] ?? "?") \(rule["chain"] ?? "?") (handle \(rule["handle"] ?? "?"))"
            return "\(place): \(hit.proto) dport \(hit.number) \(verdict)"
        }
    }

    /// The ports of `ports` that a `match` expression on a destination port covers.
    static func matchedPorts(_ match: [String: Any], among ports: [Port]) -> [Port] {
        guard (match["op"] as? String).map({ $0 == "==" || $0 == "in" }) ?? true,
              let payload = (match["left"] as? [String: Any])?["payload"] as? [String: Any],
              payload["field"] as? String == "dport", let proto = payload["protocol"] as? String else { return [] }
        let values = portValues(match["right"])
        return ports.filter { port in
            (proto == port.proto || proto == "th") && values.contains { $0.contains(port.number) }
        }
    }

    /// A number, a set of numbers and ranges, or a range, as closed ranges.
    static func portValues(_ value: Any?) -> [ClosedRange<Int>] {
        if let number = value as? Int { return [number...number] }
        if let object = value as? [String: Any] {
            if let range = object["range"] as? [Int], range.count == 2, range[0] <= range[1] { return [range[0]...range[1]] }
            if let set = object["set"] as? [Any] { return set.flatMap { portValues($0) } }
        }
        return []
    }
}
