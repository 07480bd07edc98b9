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

    /// Each rule in `iptables -S` output (legacy iptables, when nft is not installed) that
    /// matches `-p PROTO` and `--dport` (or `--dports`) of `ports` and jumps to DROP or
    /// REJECT, as "iptables INPUT: udp dport 5353 DROP".
    public static func drops(inIptablesRules text: String, family: String, ports: [Port]) -> [String] {
        text.split(separator: "\n").compactMap { line -> String? in
            let words = line.split(separator: " ").map(String.init)
            guard words.first == "-A", words.count > 1,
                  let target = value(after: "-j", in: words), target == "DROP" || target == "REJECT",
                  let proto = value(after: "-p", in: words),
                  let spec = value(after: "--dport", in: words) ?? value(after: "--dports", in: words) else { return nil }
            let ranges = spec.split(separator: ",").compactMap { item -> ClosedRange<Int>? in
                let bounds = item.split(separator: ":").compactMap { Int($0) }
                guard let low = bounds.first, let high = bounds.last, low <= high else { return nil }
                return low...high
            }
            guard let hit = ports.first(where: { port in port.proto == proto && ranges.contains { $0.contains(port.number) } }) else { return nil }
            return "\(family) \(words[1]): \(hit.proto) dport \(hit.number) \(target)"
        }
    }

    private static func value(after flag: String, in words: [String]) -> String? {
        guard let index = words.firstIndex(of: flag), index + 1 < words.count else { return nil }
        return words[index + 1]
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
