import Glibc
import PeersharePosix
internal import SystemPackage
import PeershareCore

/// Writes one offer into the inbox, entry by entry as the stream arrives.
///
/// Safe on its own, whatever the accounting layer above lets through (defense in depth,
/// hostile-inputs.md items 10–17):
/// - nothing is reached by a path string from the inbox root: parents are opened with
///   `openat2(inbox, path, RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS)` and
///   everything else is `*at` relative to that descriptor, so no symlink is ever followed;
/// - a parent must be a directory this writer created in this offer;
/// - nothing is overwritten: directories are claimed with `mkdirat`, symlinks with
///   `symlinkat`, files are written under an exclusively created temp name and claimed with
///   `renameat2(RENAME_NOREPLACE)`; a taken top-level name gets the next `UniqueName`;
/// - modes pass `PathRules.safeMode` (never setuid, setgid, sticky or world-writable).
///
/// Not thread-safe: one writer per incoming transfer, used from one thread at a time.
/// Dropping a writer that neither finished nor aborted aborts it (see `abort()`).
package final class OfferWriter {
    /// Top-level names actually used (after " (2)" renames), in the order they were claimed.
    package var placedTopLevelNames: [String] { tree.topLevelNames }
    /// File content accounted for so far: bytes written plus holes skipped (so for a
    /// complete offer it equals the sum of the declared file sizes).
    package private(set) var bytesWritten: UInt64 = 0
    /// Regular files renamed to their final names (or found complete there, with resume).
    package private(set) var filesCompleted: UInt64 = 0
    /// Of `bytesWritten`, the bytes this receiver already held (resume).
    package private(set) var resumedBytes: UInt64 = 0
    /// Files already complete under their final names (resume), not sent again.
    package private(set) var filesAlreadyPresent: UInt64 = 0
    /// What `abort` did with the file it was writing (nil: none was open).
    package internal(set) var unfinished: UnfinishedFile?

    let inbox: InboxDirectory
    /// The transfer ID reduced to `[A-Za-z0-9_-]`, at most 64 characters, for temp names.
    let transferTag: String
    /// What this writer placed: top-level names, created directories, the cached parent.
    let tree: InboxPlacement
    /// With resume: the sender's partial area and what it holds (see `OfferWriter+Resume`).
    /// Nil: files are received under temp names next to their final names.
    let area: PartialArea?
    let holdings: ResumeHoldings
    /// The file between `begin` and `finishFile`; set by the `+Files` and `+Resume`
    /// extensions, which open it in their own ways.
    var current: IncomingFile?
    /// Set by `beginUnnamedFile` when the inbox's file system refused `O_TMPFILE`: small
    /// files then take the named temp-file path too.
    var unnamedFilesUnsupported = !OfferWriter.procFileDescriptorsVisible
    private var tempCounter: UInt64 = 1
    private var state: State = .running

    enum State { case running, finished, aborted }

    /// Most names tried for one top-level entry before giving up with `.exists`.
    static let maxNameAttempts = 10_000
    /// Most temp names tried in one directory (they only collide with leftovers).
    static let maxTempAttempts = 1_000
    /// Files up to this size are received as nameless `O_TMPFILE` files (see
    /// `beginUnnamedFile`): the largest file data a BATCH item carries.
    static let unnamedFileLimit: UInt64 = 64 * 1024
    /// `linkat` names an `O_TMPFILE` file through `/proc/self/fd` (the `AT_EMPTY_PATH`
    /// form needs CAP_DAC_READ_SEARCH); without /proc the named path is used.
    static let procFileDescriptorsVisible = access("/proc/self/fd", X_OK) == 0

    /// Makes a writer for the transfer `transferID` (used, sanitized, in temp-file names).
    /// Opens nothing yet.
    package convenience init(inbox: InboxDirectory, transferID: String) {
        self.init(inbox: inbox, transferID: transferID, area: nil, holdings: .empty)
    }

    /// A writer that receives every file in `area` and can resume what `holdings` lists.
    init(inbox: InboxDirectory, transferID: String, area: PartialArea?, holdings: ResumeHoldings) {
        self.inbox = inbox
        self.tree = InboxPlacement(inbox: inbox)
        self.area = area
        self.holdings = holdings
        let allowed = transferID.unicodeScalars.filter {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_"
        }
        let tag = String(String.UnicodeScalarView(allowed.prefix(64)))
        self.transferTag = tag.isEmpty ? "transfer" : tag
    }

    deinit {
        if state == .running { abort() }
    }

    /// Starts an entry. A directory is created at once (`mkdirat`, mode 0700 until
    /// `finishAll`); a symlink is created at once (`symlinkat` after
    /// `PathRules.validateSymlinkTarget`, then `utimensat(AT_SYMLINK_NOFOLLOW)` for its
    /// time); a file gets an exclusively created temp file that `write`, `skipHole` and
    /// `finishFile` complete.
    /// With `resumeFrom`, the entry must be a file this writer's holdings list with exactly
    /// that many bytes (see `beginResumedFile`).
    package func begin(_ entry: Entry, resumeFrom offset: UInt64? = nil) throws(InboxError) {
        try requireRunning()
        if let open = current {
            throw InboxError(.refusedEntry,
                             "entry '\(DisplayEscape.escape(entry.path.string))' started before file '\(DisplayEscape.escape(open.placedPath))' was finished")
        }
        switch entry.kind {
        case .directory where offset == nil: try beginDirectory(entry)
        case .symlink where offset == nil: try beginSymlink(entry)
        case .file:
            if let offset { try beginResumedFile(entry, offset: offset) } else { try beginFile(entry) }
        default:
            throw InboxError(.refusedEntry, "a resume claim for '\(DisplayEscape.escape(entry.path.string))', which is not a file")
        }
    }

    /// True between a file's `begin` and its `finishFile` (false after a file that was
    /// already complete here and so needs no data).
    package var hasOpenFile: Bool { current != nil }

    /// After the last entry: applies each created directory's declared mode
    /// (`PathRules.safeMode`) and time, deepest first, because creating their content
    /// changed their times and they had to stay writable (0700) until now. Each directory
    /// is opened with `openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS)`, then `fchmod` and
    /// `futimens`. A file still open here ended short: `.sizeMismatch`, and it is discarded.
    package func finishAll() throws(InboxError) {
        if state == .finished { return }
        try requireRunning()
        if let open = current {
            discardCurrentFile()
            throw InboxError(.sizeMismatch,
                             "'\(DisplayEscape.escape(open.placedPath))' ended after \(open.offset) of \(open.entry.size) bytes")
        }
        tree.closeCachedParent()
        for directory in tree.directoriesDeepestFirst {
            let path = directory.placedPath
            let fd: Int32
            do {
                fd = try SystemCall.openBeneath(inbox.descriptor, path,
                                                flags: O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            } catch {
                throw InboxError.system(error, "cannot open received directory", path)
            }
            defer { SystemCall.close(fd) }
            do {
                try SystemCall.changeMode(fd, PathRules.safeMode(directory.mode, kind: .directory))
                try SystemCall.setModificationTime(fd, directory.mtime)
            } catch {
                throw InboxError.system(error, "cannot set the mode or time of", path)
            }
        }
        state = .finished
        // These top-level names are complete now: nothing of theirs is left to resume.
        area?.removeClaims(Set(tree.topLevel.keys))
    }

    /// Stops the transfer and cleans up only what this writer made: closes and unlinks
    /// the current temp file (`unlinkat` in its own parent descriptor), then removes the
    /// directories it created that are still empty, deepest first
    /// (`unlinkat(AT_REMOVEDIR)`, which never removes a non-empty directory), each parent
    /// reached through `openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS)` so cleanup can never
    /// reach outside the inbox (Warpinator CVE-2023-29380). Completed files stay.
    /// Idempotent; does nothing after `finishAll` succeeded.
    ///
    /// With `keepPartial` (the sender vanished, the network was cut, or either side
    /// cancelled), the unfinished file stays in the partial area for a later resume.
    package func abort(keepPartial: Bool = false) {
        guard state == .running else { return }
        state = .aborted
        discardCurrentFile(keep: keepPartial)
        tree.closeCachedParent()
        for directory in tree.directoriesDeepestFirst {
            let name = directory.placedComponents[directory.depth - 1]
            if directory.depth == 1 {
                try? SystemCall.unlink(inbox.descriptor, name, flags: AT_REMOVEDIR)
                continue
            }
            let parentPath = directory.placedComponents.dropLast().joined(separator: "/")
            guard let parent = try? SystemCall.openBeneath(inbox.descriptor, parentPath,
                                                           flags: O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            else { continue }
            try? SystemCall.unlink(parent, name, flags: AT_REMOVEDIR)
            SystemCall.close(parent)
        }

        // Nothing of a transfer that failed for another reason is resumed later; nor is a
        // top-level name whose folder was empty and so removed just above.
        if let area {
            let gone = tree.topLevel.filter { !keepPartial || !inbox.exists($0.value) }.keys
            if !gone.isEmpty { area.removeClaims(Set(gone)) }
        }
    }

    // MARK: Shared helpers

    /// Adds written bytes or skipped hole bytes to `bytesWritten`.
    func countContent(_ bytes: UInt64) { bytesWritten += bytes }

    /// Counts one file renamed to its final name.
    func countCompletedFile() { filesCompleted += 1 }

    /// Counts bytes this receiver already held (they are in `bytesWritten` too).
    func countResumed(_ bytes: UInt64) { resumedBytes += bytes }

    /// Counts a file found complete under its final name.
    func countAlreadyPresent() { filesAlreadyPresent += 1 }

    /// The number for the next temp-file name (unique within this writer).
    func nextTempNumber() -> UInt64 {
        defer { tempCounter += 1 }
        return tempCounter
    }

    func requireRunning() throws(InboxError) {
        switch state {
        case .running: return
        case .finished: throw InboxError(.refusedEntry, "the offer was already finished")
        case .aborted: throw InboxError(.refusedEntry, "the offer was aborted")
        }
    }

}

@available(*, unavailable, message: "OfferWriter is used from one thread at a time")
extension OfferWriter: Sendable {}
