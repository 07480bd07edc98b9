import Glibc
import PeersharePosix
internal import CPeershareSys
internal import SystemPackage

/// The directory of the file being sent, kept open while the send walks its files.
///
/// A send opens its files in tree order, so most files share the previous file's directory.
/// Opening each one by its full path would make the kernel walk every component again;
/// opening the name relative to the directory that is already open walks one. Not thread-safe: one
/// send uses one of these.
final class SourceDirectories {
    private var path: String?
    private var descriptor: Int32 = -1

    deinit {
        if descriptor >= 0 { SystemCall.close(descriptor) }
    }

    /// `openat(directory, name, flags)` for the absolute `path`, the directory opened with
    /// `O_PATH|O_DIRECTORY` when it differs from the last one. As with `open(path, flags)`,
    /// the directory's own components may be symlinks; `flags` decide about the last one.
    func open(_ path: String, flags: Int32) throws(Errno) -> Int32 {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else {
            return try SystemCall.retrying { Glibc.open(path, flags) }
        }
        let parent = slash == path.utf8.startIndex ? "/" : String(path[..<slash])
        let name = String(path[path.utf8.index(after: slash)...])
        if parent != self.path {
            if descriptor >= 0 { SystemCall.close(descriptor) }
            descriptor = -1
            self.path = nil
            descriptor = try SystemCall.retrying { Glibc.open(parent, PSYS_O_PATH | O_DIRECTORY | O_CLOEXEC) }
            self.path = parent
        }
        return try SystemCall.openAt(descriptor, name, flags: flags)
    }
}

@available(*, unavailable, message: "SourceDirectories is used from one thread at a time")
extension SourceDirectories: Sendable {}
