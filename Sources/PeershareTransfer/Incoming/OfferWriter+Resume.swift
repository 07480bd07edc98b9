import Glibc
import PeersharePosix
internal import SystemPackage
import PeershareCore

/// Resume: receiving into the partial area, continuing a file the receiver holds part of,
/// skipping a file it holds complete, and completing a folder an unfinished transfer of
/// the same sender placed (instead of starting a " (2)" copy).
///
/// Every claim is checked against `holdings`, which the receiver computed itself before it
/// accepted: a sender can only continue what this receiver announced to it, keyed by its
/// own identity and the file's path, size and time (`ResumeKeys`). Nothing is overwritten:
/// in an adopted folder, existing directories are reused (opened beneath the inbox without
/// following symlinks), an identical symlink is kept, and a file name that is taken gets
/// the next " (n)" name.
extension OfferWriter {
    /// A top-level directory entry whose name an unfinished transfer of this sender placed:
    /// reuse that folder if it is still a directory (not a symlink) beneath the inbox.
    func adoptTopLevelDirectory(_ entry: Entry) -> Bool {
        let original = entry.path.topLevel
        guard let placed = holdings.adopted[original], !tree.isAdopted(placed),
              let before = try? SystemCall.statusNoFollow(inbox.descriptor, placed),
              let fd = try? SystemCall.openBeneath(inbox.descriptor, placed, flags: O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        else { return false }
        // Still the folder the holdings were found in (not swapped since the offer was accepted).
        let same = (try? SystemCall.status(fd)).map { $0.st_ino == before.st_ino && $0.st_dev == before.st_dev } ?? false
        SystemCall.close(fd)
        guard same, UInt64(before.st_ino) == holdings.adoptedInodes[original] else { return false }
        tree.claimTopLevel(original, as: placed)
        tree.recordDirectory([placed], entry, path: placed)
        tree.adopt(placed)
        return true
    }

    /// `path` must be an existing directory beneath the inbox, reached without symlinks.
    func requireExistingDirectory(_ path: String) throws(InboxError) {
        do {
            let fd = try SystemCall.openBeneath(inbox.descriptor, path, flags: O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            SystemCall.close(fd)
        } catch {
            throw InboxError.system(error == .notDirectory ? .fileExists : error, "cannot create directory", path)
        }
    }

    /// Opens `<tag>-<key>.part` in the partial area for a new file: created exclusively
    /// (`O_CREAT|O_EXCL`), or, when a leftover has the name, opened without `O_TRUNC`; then
    /// `flock(LOCK_EX|LOCK_NB)`, and only for a leftover `ftruncate(0)`, so a file another
    /// session is writing is never cut. If that session holds it, a one-off
    /// `<tag>-<transfer>-<n>.tmp` is created exclusively instead (not resumable).
    func beginFileInPartialArea(_ entry: Entry, parent: Int32, placedPath: String) throws(InboxError) {
        guard let area else { throw InboxError(.io, "no partial area") }
        let name = area.partialName(key: ResumeKeys.fileKey(sender: area.sender, entry: entry))
        let opened: Int32?
        var leftover = false
        let create = O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW
        do {
            do {
                opened = try SystemCall.openAt(area.descriptor, name, flags: create, mode: 0o600)
            } catch where error == .fileExists {
                // A leftover: continued if it is a regular file; anything else is discarded.
                switch try area.openLeftover(name) {
                case .file(let existing):
                    opened = existing
                    leftover = true
                case .discarded:
                    opened = try SystemCall.openAt(area.descriptor, name, flags: create, mode: 0o600)
                case .stuck:
                    opened = nil
                }
            }
        } catch {
            throw InboxError.system(error, "cannot create a temporary file for", placedPath)
        }
        guard let fd = opened else {
            try beginOneOffFile(entry, parent: parent, placedPath: placedPath, area: area)
            return
        }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 && Self.stillNamed(fd, name, in: area.descriptor) {
            guard !leftover || ftruncate(fd, 0) == 0 else {
                let code = Errno(rawValue: Glibc.errno)
                SystemCall.close(fd)
                throw InboxError.system(code, "cannot create a temporary file for", placedPath)
            }
            PartialArea.label(fd, topLevel: entry.path.topLevel)
            var file = IncomingFile(descriptor: fd, parentDescriptor: parent, tempDirectory: area.descriptor, tempName: name,
                                    entry: entry, placedPath: placedPath)
            file.resumable = true
            current = file
            return
        }
        SystemCall.close(fd)
        try beginOneOffFile(entry, parent: parent, placedPath: placedPath, area: area)
    }

    /// Whether `name` in the area is still the file open as `fd`, checked once its lock is
    /// held. Another session that finished the file renamed it into its folder before it
    /// let the lock go; without this check the file opened by its old name would be that
    /// placed, confirmed file, and cutting it as a leftover would destroy it.
    private static func stillNamed(_ fd: Int32, _ name: String, in area: Int32) -> Bool {
        guard let open = try? SystemCall.status(fd), let named = try? SystemCall.statusNoFollow(area, name) else { return false }
        return open.st_ino == named.st_ino && open.st_dev == named.st_dev
    }

    /// A one-off `<tag>-<transfer>-<n>.tmp` in the partial area, created exclusively (not
    /// resumable): used when the file's resumable name is taken.
    private func beginOneOffFile(_ entry: Entry, parent: Int32, placedPath: String, area: PartialArea) throws(InboxError) {
        for _ in 0..<Self.maxTempAttempts {
            let tempName = "\(area.senderTag)-\(transferTag)-\(nextTempNumber()).tmp"
            do {
                let fd = try SystemCall.openAt(area.descriptor, tempName, flags: O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode: 0o600)
                current = IncomingFile(descriptor: fd, parentDescriptor: parent, tempDirectory: area.descriptor, tempName: tempName,
                                       entry: entry, placedPath: placedPath)
                return
            } catch where error == .fileExists {
                continue
            } catch {
                throw InboxError.system(error, "cannot create a temporary file for", placedPath)
            }
        }
        throw InboxError(.exists, "no free temporary name for '\(DisplayEscape.escape(placedPath))'")
    }

    /// A file the sender says this receiver holds the first `offset` bytes of. Accepted only
    /// as announced: `offset` equal to the size and the key among the complete files (then
    /// the file under its final name must still be a regular file of that size and time;
    /// nothing is opened, and `finishFile` is not needed), or `offset` equal to the bytes
    /// held in the partial area (then that file is locked, cut to `offset` and continued).
    /// Anything else is refused.
    func beginResumedFile(_ entry: Entry, offset: UInt64) throws(InboxError) {
        var shown: String { DisplayEscape.escape(entry.path.string) }
        guard let area, offset <= entry.size, entry.size <= UInt64(Int64.max) else {
            throw InboxError(.refusedEntry, "a resume claim for '\(shown)' that this receiver did not announce")
        }
        let key = ResumeKeys.fileKey(sender: area.sender, entry: entry)
        if offset == entry.size, holdings.complete.contains(key) {
            try acceptPresentFile(entry)
            return
        }
        guard let held = holdings.partial[key], held.held == offset else {
            throw InboxError(.refusedEntry, "a resume claim for '\(shown)' at \(offset) bytes that this receiver did not announce")
        }
        let (parent, placedPath) = try destination(of: entry)
        let fd: Int32
        do {
            fd = try SystemCall.openAt(area.descriptor, held.name, flags: O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        } catch {
            throw InboxError.system(error, "cannot reopen the partial file of", placedPath)
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0, let info = try? SystemCall.status(fd),
              info.st_mode & S_IFMT == S_IFREG, UInt64(max(0, info.st_size)) >= offset,
              ftruncate(fd, off_t(offset)) == 0 else {
            SystemCall.close(fd)
            throw InboxError(.io, "the partial file of '\(DisplayEscape.escape(placedPath))' changed since it was announced")
        }
        PartialArea.label(fd, topLevel: entry.path.topLevel) // one an older build left unlabelled
        var file = IncomingFile(descriptor: fd, parentDescriptor: parent, tempDirectory: area.descriptor, tempName: held.name,
                                entry: entry, placedPath: placedPath)
        file.resumable = true
        file.offset = offset
        file.writtenEnd = offset
        current = file
        countContent(offset)
        countResumed(offset)
    }

    /// A complete file the receiver announced: it must still be there under its final name
    /// (in the adopted folder, or the adopted top-level name), a regular file with the
    /// entry's size and time. Counted as complete; nothing is written.
    private func acceptPresentFile(_ entry: Entry) throws(InboxError) {
        let placed: [String]
        if entry.path.depth == 1 {
            try tree.refuseDuplicate(entry.path.topLevel)
            guard let name = holdings.adopted[entry.path.topLevel] else {
                throw InboxError(.refusedEntry, "a resume claim for '\(DisplayEscape.escape(entry.path.string))' that this receiver did not announce")
            }
            placed = [name]
        } else {
            let placement = try tree.placement(of: entry)
            placed = placement.components
        }
        let parent = placed.count == 1 ? inbox.descriptor : try tree.openParent(placed.dropLast().joined(separator: "/"))
        let shown = DisplayEscape.escape(placed.joined(separator: "/"))
        guard let info = try? SystemCall.statusNoFollow(parent, placed[placed.count - 1]),
              info.st_mode & S_IFMT == S_IFREG, UInt64(max(0, info.st_size)) == entry.size,
              Int64(info.st_mtim.tv_sec) == entry.mtimeSeconds, UInt32(clamping: info.st_mtim.tv_nsec) == entry.mtimeNanoseconds
        else {
            throw InboxError(.io, "'\(shown)' changed in the inbox since it was announced as complete")
        }
        if placed.count == 1 { tree.claimTopLevel(entry.path.topLevel, as: placed[0]) }
        countContent(entry.size)
        countResumed(entry.size)
        countAlreadyPresent()
        countCompletedFile()
    }

    /// Places a finished file in an adopted folder: its own name, or the next " (n)" name
    /// if a different file has it (nothing is overwritten).
    func claimNameInAdoptedFolder(_ file: IncomingFile) throws(InboxError) {
        _ = try placeUnderFreeName(file, file.entry.path.name, in: file.parentDescriptor, shown: { _ in file.placedPath })
    }
}
