/// What kind of thing an offer entry is. Only these three are ever created on the
/// receiving side: hard links, FIFOs, sockets and devices are never sent or made.
public enum EntryKind: UInt8, Sendable, Hashable, CustomStringConvertible {
    case file = 1
    case directory = 2
    case symlink = 3

    public var description: String {
        switch self {
        case .file: "file"
        case .directory: "directory"
        case .symlink: "symlink"
        }
    }
}

/// One item of an offer, as it travels in an ENTRY message.
///
/// Entries arrive in tree order: a directory always comes before anything inside it,
/// so a receiver can create the tree as the stream goes, without a manifest in memory.
public struct Entry: Sendable, Hashable {
    public var kind: EntryKind
    /// Validated relative path; its first component is the top-level name of the offer.
    public var path: RelativePath
    /// Byte length of a file (0 for directories and symlinks).
    public var size: UInt64
    /// Permission bits as sent (`st_mode & 0o7777`). Receivers mask them (see `PathRules.safeMode`).
    public var mode: UInt32
    /// Modification time, seconds since the epoch (may be negative).
    public var mtimeSeconds: Int64
    /// Nanoseconds part of the modification time, 0..<1_000_000_000.
    public var mtimeNanoseconds: UInt32
    /// Target of a symlink, as stored in the link (relative, checked by `PathRules.validateSymlinkTarget`).
    public var linkTarget: String?

    public init(kind: EntryKind, path: RelativePath, size: UInt64 = 0, mode: UInt32,
                mtimeSeconds: Int64, mtimeNanoseconds: UInt32 = 0, linkTarget: String? = nil) {
        self.kind = kind
        self.path = path
        self.size = size
        self.mode = mode
        self.mtimeSeconds = mtimeSeconds
        self.mtimeNanoseconds = mtimeNanoseconds
        self.linkTarget = linkTarget
    }
}
