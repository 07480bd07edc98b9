import Glibc
import PeersharePosix
internal import CPeershareSys
internal import SystemPackage
import PeershareCore

/// Where an entry below the top level goes: its components with the top level replaced
/// by its placed name, and that path and its parent's as `/`-joined text.
struct EntryPlacement {
    let components: [String]
    let path: String
    let parentPath: String
}

/// What one `OfferWriter` placed in the inbox: the top-level names it claimed, the
/// directories it created (the only ones a later entry may go into), the folders of an
/// unfinished transfer it completes, and the parent directory it opened last.
///
/// Owned by its writer and used on the writer's thread only.
final class InboxPlacement {
    private let inbox: InboxDirectory
    /// Original top-level name → name placed in the inbox.
    private(set) var topLevel: [String: String] = [:]
    /// Top-level names actually used (after " (2)" renames), in the order they were claimed.
    private(set) var topLevelNames: [String] = []
    /// Every directory this writer created, in creation order.
    private(set) var directories: [CreatedDirectory] = []
    /// Placed paths of `directories`.
    private var paths: Set<String> = []
    /// Placed top-level folders of an unfinished transfer that this one completes.
    private var adopted: Set<String> = []
    /// The most recently opened parent directory (consecutive entries usually share one).
    private var cachedParent: (path: String, descriptor: Int32)?

    init(inbox: InboxDirectory) { self.inbox = inbox }

    deinit { closeCachedParent() }

    /// Remembers that the top-level `original` was placed as `placed`.
    func claimTopLevel(_ original: String, as placed: String) {
        topLevel[original] = placed
        topLevelNames.append(placed)
    }

    /// Whether `path` is a directory this writer created (or adopted).
    func isCreated(_ path: String) -> Bool { paths.contains(path) }

    /// Marks a placed top-level folder as one this writer completes rather than created.
    func adopt(_ placed: String) { adopted.insert(placed) }

    func isAdopted(_ placed: String) -> Bool { adopted.contains(placed) }

    /// Top level of a folder this writer completes rather than created.
    func isInAdoptedFolder(_ placedPath: String) -> Bool {
        guard !adopted.isEmpty else { return false }
        let top = placedPath.split(separator: "/", maxSplits: 1).first.map(String.init) ?? placedPath
        return adopted.contains(top)
    }

    /// Created directories, deepest first; creation order kept among equal depths.
    var directoriesDeepestFirst: [CreatedDirectory] {
        directories.enumerated()
            .sorted { $0.element.depth != $1.element.depth ? $0.element.depth > $1.element.depth : $0.offset < $1.offset }
            .map(\.element)
    }

    /// A new top-level name must not repeat one already placed in this offer.
    func refuseDuplicate(_ original: String) throws(InboxError) {
        if topLevel[original] != nil {
            throw InboxError(.exists, "top-level name '\(DisplayEscape.escape(original))' appears twice in the offer")
        }
    }

    func recordDirectory(_ placed: [String], _ entry: Entry, path: String) {
        let mtime = SystemCall.timespecFor(seconds: entry.mtimeSeconds, nanoseconds: entry.mtimeNanoseconds)
        directories.append(CreatedDirectory(placedComponents: placed, mode: entry.mode, mtime: mtime))
        paths.insert(path)
    }

    /// The entry's placement. Refuses an entry below a top-level name this offer has not
    /// placed as a directory, and one whose parent is not a directory this writer created.
    /// When the top level kept its name (the usual case) the texts are cut from the entry's
    /// path instead of joined again: joins were a tenth of the receiver's CPU on a tree of
    /// small files.
    func placement(of entry: Entry) throws(InboxError) -> EntryPlacement {
        var components = entry.path.components
        var shown: String { DisplayEscape.escape(entry.path.string) }  // built only for an error message
        guard let placedTop = topLevel[components[0]] else {
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
        guard paths.contains(parentPath) else {
            throw InboxError(.refusedEntry, "'\(shown)' is inside '\(DisplayEscape.escape(parentPath))', which is not a directory of this offer")
        }
        return EntryPlacement(components: components, path: path, parentPath: parentPath)
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
