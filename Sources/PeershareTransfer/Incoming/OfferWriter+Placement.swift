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
            try tree.refuseDuplicate(original)
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
                tree.claimTopLevel(original, as: candidate)
                tree.recordDirectory([candidate], entry, path: candidate)
                area?.appendClaim(original, placed: candidate)
                return
            }
            throw InboxError(.exists, "no free name for '\(DisplayEscape.escape(original))' after \(Self.maxNameAttempts) tries")
        }
        let placed = try tree.placement(of: entry)
        let path = placed.path
        if tree.isCreated(path) {
            throw InboxError(.exists, "directory '\(DisplayEscape.escape(path))' appears twice in the offer")
        }
        let parent = try tree.openParent(placed.parentPath)
        do {
            try SystemCall.makeDirectory(parent, placed.components[placed.components.count - 1], mode: 0o700)
        } catch where error == .fileExists && tree.isInAdoptedFolder(path) {
            try requireExistingDirectory(path)
        } catch {
            throw InboxError.system(error, "cannot create directory", path)
        }
        tree.recordDirectory(placed.components, entry, path: path)
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
        let placed = try tree.placement(of: entry)
        let path = placed.path
        let name = placed.components[placed.components.count - 1]
        let parent = try tree.openParent(placed.parentPath)
        do {
            try SystemCall.makeSymlink(target: target, parent, name)
        } catch where error == .fileExists && tree.isInAdoptedFolder(path)
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
}
