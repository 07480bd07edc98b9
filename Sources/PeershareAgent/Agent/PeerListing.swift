import Foundation
import PeershareCore

/// The text table of `peers`: one row per peer under a header, columns padded to their
/// widest cell (measured after `DisplayEscape.escape`, which is what is printed).
///
/// There is no "seen N s ago" column: every listed peer's record is live (Avahi reports
/// its removal on a goodbye or when its TTL runs out, and the peer leaves the table), and
/// `lastSeen` is only when the record was last *resolved*, which a running resolver
/// repeats only when the record changes. Shown as an age it grew for a peer announcing all
/// along. What the table can say truly is how long the peer has been listed.
public enum PeerListing {
    public static let header = ["NAME", "FINGERPRINT", "ADDRESSES", "PORT", "PAIRED", "LISTED"]

    /// The header and one line per peer; `also announced at ...` lines follow their peer.
    public static func lines(_ peers: [PeerInfo], now: Date) -> [String] {
        let labels = PeerLabels.labels(peers)
        let rows = zip(peers, labels).map { peer, label in
            [DisplayEscape.escape(label), String(peer.fingerprint.prefix(19)),
             peer.addresses.map { DisplayEscape.escape($0) }.joined(separator: ", "), String(peer.port),
             peer.paired ? "yes" : "no", (peer.source ?? "mdns") == "mdns" ? "for " + age(now.timeIntervalSince(peer.firstSeen)) : "-"]
        }
        let widths = header.indices.map { column in
            ([header] + rows).map { $0[column].count }.max() ?? 0
        }
        var lines = [pad(header, widths)]
        for (row, peer) in zip(rows, peers) {
            lines.append(pad(row, widths))
            if let others = peer.otherEndpoints {
                lines.append("    also announced at \(others.map { DisplayEscape.escape($0) }.joined(separator: ", "))")
            }
            if let note = peer.note {
                lines.append("    \(DisplayEscape.escape(note))" + (peer.latencyMs.map { ", \($0) ms" } ?? ""))
            }
        }
        return lines
    }

    /// "12s", "4m05s", "3h02m": short and exact enough for a table.
    static func age(_ seconds: TimeInterval) -> String {
        let total = max(0, Int(seconds))
        if total < 60 { return "\(total)s" }
        if total < 3600 { return "\(total / 60)m\(String(format: "%02d", total % 60))s" }
        return "\(total / 3600)h\(String(format: "%02d", total % 3600 / 60))m"
    }

    /// Cells joined by two spaces, each padded to its column's width; the last is not
    /// padded, so no line ends in spaces.
    static func pad(_ cells: [String], _ widths: [Int]) -> String {
        cells.enumerated().map { index, cell in
            index == cells.count - 1 ? cell : cell + String(repeating: " ", count: max(0, widths[index] - cell.count))
        }.joined(separator: "  ")
    }
}
