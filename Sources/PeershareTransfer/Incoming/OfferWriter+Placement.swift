import Glibc
import PeersharePosix
internal import CPeershareSys
internal import SystemPackage
import PeershareCore

/// Where entries go: claiming top-level names, opening parents beneath the inbox, and
/// creating directories and symlinks.
extension OfferWriter {
    /// Creates a directory entry with `mkdirat(parent, name, 0700)`. At the top level,
    /// EEXIST means "taken": the next `UniqueName` candidate is tried (the `mkdirat` is the
    /// atomic claim). Below it, EEXIST means a duplicate or a race: `.exists`, never a merge.
    func beginDirectory(_ entry: Entry) throws(InboxError) {
        let components = entry.path.components
        if components.count == 1 {
            let original = components[0]
            try refuseDuplicateTopLevel(original)
            if adoptTopLevelDirectory(entry) { return }
            for attempt in 1...Self.maxNameAttempts {
                let candidate = UniqueName.candidate(original, attempt: attempt, isDirectory: true)
                do {
                    try SystemCall.makeDirectory(inbox.descriptor, candidate, mode: 0o700)
                } catch where error == .fileExists {
                    continue
                } catch {
                    throw InboxError.system(error, "cannot create directory", candidate)
                }
                claimTopLevel(original, as: candidate)
                recordDirectory([candidate], entry, path: candidate)
                area?.appendClaim(original, placed: candidate)
                return
            }
            throw InboxError(.exists, "no free name for '\(DisplayEscape.escape(original))' after \(Self.maxNameAttempts) tries")
        }
        let placed = try placement(of: entry)
        let path = placed.path
        if createdPaths.contains(path) {
            throw InboxError(.exists, "directory '\(DisplayEscape.escape(path))' appears twice in the offer")
        }
        let parent = try openParent(placed.parentPath)
        do {
            try SystemCall.makeDirectory(parent, placed.components[placed.components.count - 1], mode: 0o700)
        } catch where error == .fileExists && isInAdoptedFolder(path) {
            try requireExistingDirectory(path)
        } catch {
            throw InboxError.system(error, "cannot create directory", path)
        }
        recordDirectory(placed.components, entry, path: path)
    }

    /// Creates a symlink entry: `PathRules.validateSymlinkTarget` first (else
    /// `.symlinkRefused`), then `symlinkat(target, parent, name)`, which never replaces,
    /// then `utimensat(parent, name, AT_SYMLINK_NOFOLLOW)` for the link's own time.
    func beginSymlink(_ entry: Entry) throws(InboxError) {
        var shown: String { DisplayEscape.escape(entry.path.string) }  // built only for an error message
        guard let target = entry.linkTarget else {
            throw InboxError(.symlinkRefused, "symlink '\(shown)' has no target")
        }
        do {
            try PathRules.validateSymlinkTarget(target, linkPath: entry.path)
        } catch {
            throw InboxError(.symlinkRefused, "symlink '\(shown)' refused: \(error)")
        }
        // validateSymlinkTarget refuses top-level links, so there is a parent.
        let placed = try placement(of: entry)
        let path = placed.path
        let name = placed.components[placed.components.count - 1]
        let parent = try openParent(placed.parentPath)
        do {
            try SystemCall.makeSymlink(target: target, parent, name)
        } catch where error == .fileExists && isInAdoptedFolder(path)
                        && (try? SystemCall.readLink(parent, name)) == Array(target.utf8) {
            // The same link, made by the unfinished transfer this one completes.
        } catch {
            throw InboxError.system(error, "cannot create symlink", path)
        }
        let mtime = SystemCall.timespecFor(seconds: entry.mtimeSeconds, nanoseconds: entry.mtimeNanoseconds)
        do {
            try SystemCall.setSymlinkModificationTime(parent, name, mtime)
        } catch {
            throw InboxError.system(error, "cannot set the time of symlink", path)
        }
    }

    /// A new top-level name must not repeat one already placed in this offer.
    func refuseDuplicateTopLevel(_ original: String) throws(InboxError) {
        if placedTopLevel[original] != nil {
            throw InboxError(.exists, "top-level name '\(DisplayEscape.escape(original))' appears twice in the offer")
        }
    }

    func recordDirectory(_ placed: [String], _ entry: Entry, path: String) {
        let mtime = SystemCall.timespecFor(seconds: entry.mtimeSeconds, nanoseconds: entry.mtimeNanoseconds)
        createdDirectories.append(CreatedDirectory(placedComponents: placed, mode: entry.mode, mtime: mtime))
        createdPaths.insert(path)
    }

    /// Where an entry below the top level goes: its components with the top level replaced
    /// by its placed name, and that path and its parent's as `/`-joined text.
    struct Placement {
        let components: [String]
        let path: String
        let parentPath: String
    }

    /// The entry's placement. Refuses an entry below a top-level name this offer has not
    /// placed as a directory, and one whose parent is not a directory this writer created.
    /// When the top level kept its name (the usual case) the texts are cut from the entry's
    /// path instead of joined again: joins were a tenth of the receiver's CPU on a tree of
    /// small files.
    func placement(of entry: Entry) throws(InboxError) -> Placement {
        var components = entry.path.components
        var shown: String { DisplayEscape.escape(entry.path.string) }  // built only for an error message
        guard let placedTop = placedTopLevel[components[0]] else {
            throw InboxError(.refusedEntry, "'\(shown)' is inside '\(DisplayEscape.escape(components[0]))', which is not a directory of this offer")
        }
        let path: String
        let parentPath: String
        if placedTop.utf8.elementsEqual(components[0].utf8) {
            path = entry.path.string
            let nameBytes = components[components.count - 1].utf8.count
            parentPath = String(decoding: path.utf8.dropLast(nameBytes + 1), as: UTF8.self)
        } else {
            components[0] = placedTop
            path = components.joined(separator: "/")
            parentPath = components.dropLast().joined(separator: "/")
        }
        guard createdPaths.contains(parentPath) else {
            throw InboxError(.refusedEntry, "'\(shown)' is inside '\(DisplayEscape.escape(parentPath))', which is not a directory of this offer")
        }
        return Placement(components: components, path: path, parentPath: parentPath)
    }

    /// The descriptor of the directory `path` (a placed parent, below the inbox), reusing
    /// the cached one when it is the same directory, else `openat2(inbox, path, O_DIRECTORY|O_RDONLY|O_CLOEXEC|O_NOFOLLOW,
    /// RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS)`. A symlink anywhere on
    /// the way (planted, or swapped in for a directory) fails with ELOOP: `.symlinkRefused`.
    /// The returned descriptor belongs to the cache; callers do not close it.
    func openParent(_ path: String) throws(InboxError) -> Int32 {
        if let cached = cachedParent, cached.path == path { return cached.descriptor }
        closeCachedParent()
        let fd: Int32
        do {
            fd = try SystemCall.openBeneath(inbox.descriptor, path, flags: O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        } catch {
            let shown = DisplayEscape.escape(path)
            switch error {
            case .tooManySymbolicLinkLevels:
                throw InboxError(.symlinkRefused, "refused: a symlink is in the way at '\(shown)' in the inbox", errno: error.rawValue)
            case .improperLink:
                throw InboxError(.symlinkRefused, "refused: '\(shown)' resolves outside the inbox", errno: error.rawValue)
            case .notDirectory where lastComponentIsSymlink(path):
                throw InboxError(.symlinkRefused, "refused: '\(shown)' in the inbox is a symlink, not a directory", errno: ELOOP)
            case .noFunction:
                throw InboxError(.io, "openat2 is not available (Linux 5.6 or later is needed) to open '\(shown)'", errno: error.rawValue)
            default:
                throw InboxError.system(error, "cannot open directory", path)
            }
        }
        cachedParent = (path, fd)
        return fd
    }

    /// Only on the error path, to report a symlink as a symlink: `O_DIRECTORY|O_NOFOLLOW`
    /// on a trailing symlink fails with ENOTDIR, not ELOOP. Opens the last component itself
    /// with `openat2(O_PATH|O_NOFOLLOW, RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS)` (which yields
    /// the link, never its target) and checks `fstat` for `S_IFLNK`.
    private func lastComponentIsSymlink(_ path: String) -> Bool {
        guard let fd = try? SystemCall.openBeneath(inbox.descriptor, path, flags: PSYS_O_PATH | O_NOFOLLOW | O_CLOEXEC)
        else { return false }
        defer { SystemCall.close(fd) }
        guard let info = try? SystemCall.status(fd) else { return false }
        return info.st_mode & S_IFMT == S_IFLNK
    }

    func closeCachedParent() {
        if let cached = cachedParent {
            SystemCall.close(cached.descriptor)
            cachedParent = nil
        }
    }
}
