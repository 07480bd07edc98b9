import Glibc
import PeershareTransfer
import PeersharePosix

/// Serializes the writers of a small state file that is replaced atomically (`AtomicFile`):
/// an exclusive `flock(2)` on `PATH.lock`, held while the writer reads, changes and replaces
/// the file. Readers need no lock, since the file is never seen half-written. The kernel drops
/// the lock when the holder exits, however it exits.
enum FileLock {
    /// Runs `body` holding the exclusive lock for `path` (the directory must exist).
    static func withExclusive<T>(for path: String, _ body: () throws(AgentError) -> T) throws(AgentError) -> T {
        let lockPath = path + ".lock"
        let lockFD = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0o600)
        guard lockFD >= 0 else {
            throw AgentError(.io, "Cannot lock \(path): \(lockPath): \(String(cString: strerror(errno)))")
        }
        defer { close(lockFD) }
        var info = stat()
        guard fstat(lockFD, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw AgentError(.io, "Cannot lock \(path): \(lockPath) is not a regular file. Move it away.")
        }
        do {
            try SystemCall.lock(lockFD, LOCK_EX)
        } catch {
            throw AgentError(.io, "Cannot lock \(path): \(error)")
        }
        return try body()
    }
}
