import PeershareCore

/// Everything one `send` will offer, computed before anything goes on the wire: the
/// entries in stream order (a directory before its contents, siblings sorted by name
/// bytes), where each entry's data comes from, and what was left out and why.
package struct SendPlan: Sendable {
    /// The entries, in the order they are sent.
    package let entries: [Entry]
    /// The absolute source path of each entry, same index as `entries`.
    package let sources: [String]
    /// One line per skipped item (names escaped with `DisplayEscape`), in walk order.
    package let warnings: [String]
    package var fileCount: UInt64
    package var directoryCount: UInt64
    package var symlinkCount: UInt64
    /// Sum of the file sizes.
    package var totalBytes: UInt64
    /// The top-level names, in argument order.
    package var topLevelNames: [String]

    package init(entries: [Entry], sources: [String], warnings: [String], fileCount: UInt64,
                directoryCount: UInt64, symlinkCount: UInt64, totalBytes: UInt64, topLevelNames: [String]) {
        self.entries = entries
        self.sources = sources
        self.warnings = warnings
        self.fileCount = fileCount
        self.directoryCount = directoryCount
        self.symlinkCount = symlinkCount
        self.totalBytes = totalBytes
        self.topLevelNames = topLevelNames
    }
}
