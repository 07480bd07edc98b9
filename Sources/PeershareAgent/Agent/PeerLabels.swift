import PeershareDiscovery
import SodiumKit

/// The names `peers` shows and `send --to` takes. A name that several peers share gets the
/// first two groups of each one's fingerprint ("bob (b029-4c1e)", `Fingerprint.tag`), the
/// same tag a renamed advert carries, so that every row names one peer in a form that can be typed back.
public enum PeerLabels {
    /// One label per peer, in the order given (unescaped: callers escape before display).
    public static func labels(_ peers: [DiscoveredPeer]) -> [String] {
        labels(peers.map { ($0.name, Hex.decode($0.publicKeyHex).map { Fingerprint.full(of: $0) } ?? "") })
    }

    /// The same for listed peers (`PeerInfo`, as the agent's control socket sends them).
    public static func labels(_ peers: [PeerInfo]) -> [String] {
        labels(peers.map { ($0.name, $0.fingerprint) })
    }

    /// Labels from names and full fingerprints ("b029-4c1e-...").
    static func labels(_ entries: [(name: String, fingerprint: String)]) -> [String] {
        var counts: [String: Int] = [:]
        for entry in entries { counts[entry.name.lowercased(), default: 0] += 1 }
        return entries.map { entry in
            guard counts[entry.name.lowercased(), default: 0] > 1, entry.fingerprint.count >= 9 else { return entry.name }
            return "\(entry.name) (\(entry.fingerprint.prefix(9)))"
        }
    }

    /// "NAME (TAG)" split into the name and the tag's hex digits, when TAG is hex and "-"
    /// with at least 4 digits; nil otherwise.
    static func split(_ text: String) -> (name: String, tag: String)? {
        guard text.hasSuffix(")"), let open = text.lastIndex(of: "(") else { return nil }
        let name = text[..<open].trimmingSuffix(while: { $0 == " " })
        let tag = Fingerprint.normalized(String(text[text.index(after: open)..<text.index(before: text.endIndex)]))
        guard !name.isEmpty, tag.count >= 4, tag.allSatisfy({ $0.isASCII && $0.isHexDigit }) else { return nil }
        return (String(name), tag)
    }
}

private extension Substring {
    func trimmingSuffix(while predicate: (Character) -> Bool) -> Substring {
        var result = self
        while let last = result.last, predicate(last) { result.removeLast() }
        return result
    }
}
