import Foundation
import PeershareTransfer

/// `history.jsonl` in the state directory: one `HistoryEntry` per line, oldest first, at
/// most ``maxEntries`` of them.
///
/// Writers (the agent, and a `send` that runs without one, at the same moment) take the
/// file's lock (`FileLock`), read it, add their entry, drop the oldest past the cap, and
/// replace it atomically (`AtomicFile`), so no entry is lost and no reader sees half a file.
/// A file that cannot be read or holds a line that is no entry is an error naming the file
/// and the line; it is never taken for an empty history, nor overwritten.
public struct HistoryFile: Sendable {
    public let path: String
    public static let maxEntries = 1000
    /// The file is refused past this size before it is read.
    static let sizeLimit = 4 << 20

    public init(paths: StatePaths) {
        self.path = paths.stateDirectory + "/history.jsonl"
    }

    /// Every entry, oldest first; empty when there is no file yet.
    public func read() throws(AgentError) -> [HistoryEntry] {
        guard let bytes = try AtomicFile.read(path, limit: Self.sizeLimit) else { return [] }
        var entries: [HistoryEntry] = []
        let decoder = JSONDecoder()
        for (index, line) in bytes.split(separator: UInt8(ascii: "\n")).enumerated() {
            do {
                entries.append(try decoder.decode(HistoryEntry.self, from: Data(line)))
            } catch {
                throw AgentError(.io, "\(path) line \(index + 1) is not a history entry (\(error)). Fix or remove the file (removing it clears the history).", underlying: error)
            }
        }
        return entries
    }

    /// The number of entries a `history` request asks for: 20 unless given, 1 to ``maxEntries``.
    public static func checkedLimit(_ limit: Int?) throws(AgentError) -> Int {
        guard let limit else { return 20 }
        guard (1...maxEntries).contains(limit) else {
            throw AgentError(.usage, "The history limit must be between 1 and \(maxEntries).")
        }
        return limit
    }

    /// The last `limit` entries, newest first.
    public func latest(_ limit: Int) throws(AgentError) -> [HistoryEntry] {
        Array(try read().suffix(max(0, limit)).reversed())
    }

    /// Adds `entry`, dropping the oldest entries past ``maxEntries`` (or past half the size
    /// limit, so the file never grows near it).
    public func append(_ entry: HistoryEntry) throws(AgentError) {
        try StatePaths.makeDirectory((path as NSString).deletingLastPathComponent)
        try FileLock.withExclusive(for: path) { () throws(AgentError) in
            var lines = try read().map { ControlJSON.line($0) }
            lines.append(ControlJSON.line(entry))
            Self.trim(&lines)
            try AtomicFile.write(Array((lines.joined(separator: "\n") + "\n").utf8), to: path, mode: 0o600)
        }
    }

    /// Drops the oldest lines until at most ``maxEntries`` remain and they fill at most half
    /// of ``sizeLimit`` (the newest line always stays).
    static func trim(_ lines: inout [String]) {
        var size = lines.reduce(0) { $0 + $1.utf8.count + 1 }
        var drop = 0
        while drop < lines.count - 1, lines.count - drop > maxEntries || size > sizeLimit / 2 {
            size -= lines[drop].utf8.count + 1
            drop += 1
        }
        lines.removeFirst(drop)
    }
}
