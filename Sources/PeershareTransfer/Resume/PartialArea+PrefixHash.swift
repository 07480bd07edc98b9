import Glibc
import PeersharePosix
import PeershareCore
import SodiumKit

/// The prefix hash of HOLDING (docs/PROTOCOL.md §6): both sides hash the held bytes before
/// a file continues, the receiver its partial file, the sender its source.
extension PartialArea {
    /// The hash remembered on `name` when it still holds exactly `length` bytes and is not
    /// locked by a session writing it; reads no data.
    func rememberedPrefixHash(of name: String, length: UInt64) -> [UInt8]? {
        guard let fd = try? SystemCall.openAt(descriptor, name, flags: O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK) else { return nil }
        defer { SystemCall.close(fd) }
        guard flock(fd, LOCK_SH | LOCK_NB) == 0, let info = try? SystemCall.status(fd),
              info.st_size >= 0, UInt64(info.st_size) == length else { return nil }
        return PrefixHashCache.cached(fd, info)
    }

    /// `crypto_generichash(32)` of the first `length` bytes of `name`, or nil when the file
    /// is shorter, unreadable, or locked by a session still writing it. When `length` is
    /// the whole file, the hash remembered on it (`PrefixHashCache`, waiting for one being
    /// computed in the background) saves reading it, and one computed here is remembered.
    func prefixHash(of name: String, length: UInt64) -> [UInt8]? {
        guard let fd = try? SystemCall.openAt(descriptor, name, flags: O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK) else { return nil }
        defer { SystemCall.close(fd) }
        guard flock(fd, LOCK_SH | LOCK_NB) == 0, var info = try? SystemCall.status(fd) else { return nil }
        PrefixHashCache.waitForPending(info)
        guard let now = try? SystemCall.status(fd) else { return nil }
        info = now
        let whole = info.st_size >= 0 && UInt64(info.st_size) == length
        if whole, let remembered = PrefixHashCache.cached(fd, info) { return remembered }
        guard let hash = PrefixHash.compute(fd: fd, length: length) else { return nil }
        if whole { PrefixHashCache.store(fd, info, hash: hash) }
        return hash
    }
}
