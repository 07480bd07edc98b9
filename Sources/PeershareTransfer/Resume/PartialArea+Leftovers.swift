import Glibc
import PeersharePosix
internal import SystemPackage

/// Leftovers in the partial area are opened for writing only when they are regular files.
/// Anyone who can write to the inbox can put a symlink, FIFO or directory under the name of
/// an unfinished file; following it would write outside the area, opening a FIFO would wait
/// for a reader forever, and refusing it would block that file for good. Such an entry is
/// discarded (unlinked, never followed) and the file starts afresh.
extension PartialArea {
    /// What `openLeftover` found under a name.
    enum Leftover {
        /// A regular file, opened for writing (blocking mode, no O_TRUNC).
        case file(Int32)
        /// Something else was there and is gone now: create the file afresh.
        case discarded
        /// Something else is there and could not be removed (a directory with entries).
        case stuck
    }

    /// Opens the existing entry `name` for writing if it is a regular file, else discards it.
    func openLeftover(_ name: String) throws(Errno) -> Leftover {
        let fd: Int32
        do {
            // O_NONBLOCK: a FIFO fails (ENXIO) instead of waiting for a reader.
            fd = try SystemCall.openAt(descriptor, name, flags: O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        } catch where Self.isOddEntry(error) {
            return discard(name)
        }
        guard let info = try? SystemCall.status(fd), info.st_mode & S_IFMT == S_IFREG else {
            SystemCall.close(fd)
            return discard(name)
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return .file(fd)
    }

    /// Errors an open gets from a symlink (ELOOP), a directory (EISDIR), a FIFO with no
    /// reader (ENXIO), a device (ENODEV, ENXIO) or a socket (EOPNOTSUPP).
    static func isOddEntry(_ error: Errno) -> Bool {
        [.tooManySymbolicLinkLevels, .isDirectory, .noSuchAddressOrDevice, .operationNotSupportedByDevice, .notSupported, .notSupportedOnSocket].contains(error)
    }

    /// Unlinks `name` (an empty directory too); never follows it.
    private func discard(_ name: String) -> Leftover {
        do {
            try SystemCall.unlink(descriptor, name)
            return .discarded
        } catch where error == .isDirectory {
            do {
                try SystemCall.unlink(descriptor, name, flags: AT_REMOVEDIR)
                return .discarded
            } catch {
                return .stuck
            }
        } catch {
            return .stuck
        }
    }
}
