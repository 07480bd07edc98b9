import Glibc
import PeersharePosix
internal import SystemPackage
import PeershareCore
import NIOConcurrencyHelpers

/// The inbox directory, opened once; every later path is resolved relative to this descriptor.
///
/// Holding a descriptor instead of a path means a rename or symlink swap of the inbox's
/// own ancestors after startup cannot redirect writes (hostile-inputs.md item 12).
/// Sendable without `@unchecked`: all stored properties are immutable after `init`, and
/// the descriptor is only read (as an `*at` base) until `deinit` closes it.
package final class InboxDirectory: Sendable {
    /// The path as given, for messages only; never used to reach files.
    package let path: String
    /// `open(path, O_DIRECTORY|O_RDONLY|O_CLOEXEC)`; closed in `deinit`.
    let descriptor: Int32
    /// Transfers using the partial area right now (`PartialArea`); creating and removing
    /// the area, and changing a claims journal, happen under this lock.
    let partialUsers = NIOLockedValueBox<Int>(0)

    /// Opens the inbox with `open(O_DIRECTORY|O_RDONLY|O_CLOEXEC)`. With `createIfMissing`,
    /// missing directories along `path` are first made with `mkdir(0700)` (`mkdir -p`).
    /// The inbox path itself is the person's own configuration, so symlinks in it are followed.
    package init(path: String, createIfMissing: Bool = true) throws(InboxError) {
        self.path = path
        if createIfMissing {
            try Self.makeParents(path)
        }
        do {
            descriptor = try SystemCall.retrying { Glibc.open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC) }
        } catch {
            throw InboxError.system(error, "cannot open the inbox directory", path)
        }
    }

    deinit {
        SystemCall.close(descriptor)
    }

    /// Free space for an unprivileged user: `fstatvfs` → `f_bavail * f_frsize` (saturating).
    /// Checked before an offer is accepted (hostile-inputs.md item 18).
    package func availableBytes() throws(InboxError) -> UInt64 {
        var info = statvfs()
        do {
            _ = try SystemCall.retrying { Glibc.fstatvfs(descriptor, &info) }
        } catch {
            throw InboxError.system(error, "cannot read the free space of", path)
        }
        let (product, overflow) = UInt64(info.f_bavail).multipliedReportingOverflow(by: UInt64(info.f_frsize))
        return overflow ? UInt64.max : product
    }

    /// Whether the top-level `name` exists in the inbox, as anything (a dangling symlink
    /// counts): `fstatat(inbox, name, AT_SYMLINK_NOFOLLOW)`. A name that is not a single
    /// path component (empty, `.`, `..`, containing `/` or NUL) is reported as absent,
    /// since it can never be a top-level name of an offer.
    package func exists(_ name: String) -> Bool {
        guard !name.isEmpty, name != ".", name != "..",
              !name.utf8.contains(UInt8(ascii: "/")), !name.utf8.contains(0) else { return false }
        return (try? SystemCall.statusNoFollow(descriptor, name)) != nil
    }

    /// `mkdir -p` with mode 0700: `mkdir` on each prefix of `path`, EEXIST accepted.
    /// Whether the result is a directory is checked by the `O_DIRECTORY` open that follows.
    private static func makeParents(_ path: String) throws(InboxError) {
        let isAbsolute = path.hasPrefix("/")
        var prefix = isAbsolute ? "/" : ""
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + component
            if component == "." || component == ".." { continue }
            do {
                _ = try SystemCall.retrying { Glibc.mkdir(prefix, 0o700) }
            } catch where error == .fileExists {
                continue
            } catch {
                throw InboxError.system(error, "cannot create the inbox directory", prefix)
            }
        }
    }
}

extension InboxDirectory {
    /// Whether the directory this descriptor holds was deleted (`st_nlink == 0`): files can
    /// no longer be created in it, whatever now stands at `path`.
    var isDeleted: Bool {
        guard let info = try? SystemCall.status(descriptor) else { return true }
        return info.st_nlink == 0
    }
}

/// The inbox the agent serves: the open ``InboxDirectory``, replaced by a fresh one at the
/// configured path (created again if missing) when the held directory was deleted. Without
/// this, an `rm -rf` of the inbox made every later transfer fail until the agent restarted.
///
/// Only a deleted directory is replaced: while the held one exists, a rename or a symlink
/// swap along the path still cannot redirect writes (hostile-inputs.md item 12).
package final class LiveInbox: Sendable {
    package let path: String
    private let current: NIOLockedValueBox<InboxDirectory>

    package init(path: String) throws(InboxError) {
        self.path = path
        current = NIOLockedValueBox(try InboxDirectory(path: path))
    }

    /// The inbox for a new session: the held one, or, when it was deleted, the path opened
    /// (and created) again. Throws when the path cannot be opened again; the caller then
    /// reports that the inbox is gone.
    package func forSession() throws(InboxError) -> InboxDirectory {
        let held = current.withLockedValue { $0 }
        guard held.isDeleted else { return held }
        let fresh = try InboxDirectory(path: path)
        return current.withLockedValue { inbox in
            if inbox === held { inbox = fresh }
            return inbox
        }
    }
}

extension LiveInbox {
    /// The held inbox as it is, deleted or not.
    package var stale: InboxDirectory { current.withLockedValue { $0 } }
}
