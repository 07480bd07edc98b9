import Foundation
import PeershareTransfer
import PeershareCore
import PeershareTransfer

/// The text table of `peershare history`, newest first, padded like `peers`' table. Every
/// name is escaped (`DisplayEscape`) before it is measured and printed.
public enum HistoryListing {
    public static let header = ["TIME (UTC)", "DIRECTION", "PEER", "WHAT", "SIZE", "OUTCOME", "DURATION"]
    /// Characters of the WHAT column before it is cut with "…".
    static let whatWidth = 48

    public static func lines(_ entries: [HistoryEntry]) -> [String] {
        let rows = entries.map(row)
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { PeerListing.pad($0, widths) }
    }

    static func row(_ entry: HistoryEntry) -> [String] {
        let time = String(entry.time.prefix(19)).replacingOccurrences(of: "T", with: " ")
        let peer = entry.peer.isEmpty ? (entry.fingerprint.map { String($0.prefix(19)) } ?? "?") : DisplayEscape.escape(entry.peer)
        var what = entry.names.map { DisplayEscape.escape($0) }.joined(separator: ", ")
        if let more = entry.moreNames { what += " and \(more) more" }
        if what.count > whatWidth { what = String(what.prefix(whatWidth - 1)) + "…" }
        let files = "\(entry.files) file\(entry.files == 1 ? "" : "s")"
        return [time, entry.direction == .send ? "sent to" : "from", peer, what.isEmpty ? files : "\(what) (\(files))",
                ByteCount.format(entry.bytes), entry.outcome.rawValue, String(format: "%.1f s", entry.seconds)]
    }
}
