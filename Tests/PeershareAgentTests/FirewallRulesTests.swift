import Foundation
import Testing
@testable import PeershareAgent

/// `doctor` names the nftables rules that drop mDNS or the agent's port, from `nft -j`.
@Suite("Firewall rules")
struct FirewallRulesTests {
    static func ruleset(_ rules: [String]) -> Data {
        Data(("{\"nftables\": [{\"metainfo\": {\"json_schema_version\": 1}}, "
              + "{\"chain\": {\"family\": \"inet\", \"table\": \"filter\", \"name\": \"input\", \"handle\": 1, \"hook\": \"input\", \"policy\": \"accept\"}}"
              + rules.map { ", " + $0 }.joined() + "]}").utf8)
    }

    /// A rule in `chain input` matching `proto` dport `right` (JSON), then a counter and `verdict`.
    static func rule(_ handle: Int, _ proto: String, _ right: String, _ verdict: String) -> String {
        let match = "{\"match\": {\"op\": \"==\", \"left\": {\"payload\": {\"protocol\": \"\(proto)\", \"field\": \"dport\"}}, \"right\": \(right)}}"
        return "{\"rule\": {\"family\": \"inet\", \"table\": \"filter\", \"chain\": \"input\", \"handle\": \(handle), \"expr\": ["
            + match + ", {\"counter\": {\"packets\": 0, \"bytes\": 0}}, {\"\(verdict)\": null}]}}"
    }

    let ports = [FirewallRules.Port("udp", 5353), FirewallRules.Port("tcp", 53317)]

    @Test("A drop of UDP 5353, a reject of the TCP port in a set, and one in a range are named; accepts and other ports are not")
    func dropsAreNamed() {
        let data = Self.ruleset([
            Self.rule(4, "udp", "5353", "drop"),
            Self.rule(5, "tcp", "{\"set\": [22, 53317]}", "reject"),
            Self.rule(6, "th", "{\"range\": [53000, 54000]}", "drop"),
            Self.rule(7, "udp", "5353", "accept"),
            Self.rule(8, "tcp", "22", "drop"),
        ])
        let drops = FirewallRules.drops(inNftJSON: data, ports: ports)
        #expect(drops == ["inet filter input (handle 4): udp dport 5353 drop",
                          "inet filter input (handle 5): tcp dport 53317 reject",
                          "inet filter input (handle 6): tcp dport 53317 drop"], "\(drops)")
    }

    @Test("Legacy iptables: DROP and REJECT of UDP 5353 or the port (also in --dports lists and ranges) are named")
    func iptablesDropsAreNamed() {
        let rules = """
            -P INPUT ACCEPT
            -A INPUT -i eth0 -p udp -m udp --dport 5353 -j DROP
            -A INPUT -p tcp -m multiport --dports 22,53000:54000 -j REJECT --reject-with icmp-port-unreachable
            -A INPUT -p udp -m udp --dport 5353 -j ACCEPT
            -A INPUT -p tcp -m tcp --dport 22 -j DROP
            """
        #expect(FirewallRules.drops(inIptablesRules: rules, family: "iptables", ports: ports)
            == ["iptables INPUT: udp dport 5353 DROP", "iptables INPUT: tcp dport 53317 REJECT"])
    }

    @Test("An empty ruleset, or output that is not nft JSON, drops nothing")
    func nothingToName() {
        #expect(FirewallRules.drops(inNftJSON: Self.ruleset([]), ports: ports).isEmpty)
        #expect(FirewallRules.drops(inNftJSON: Data("not json".utf8), ports: ports).isEmpty)
    }
}
