import Dispatch
import Glibc
import PeersharePosix
internal import CPeershareSys
import PeershareCore
import NIOConcurrencyHelpers

/// The prefix hash of a partial file, remembered on the file itself.
///
/// Why: HOLDING carries the hash of every announced prefix, and the sender hashes its own
/// copy only after HOLDING arrived, so a resume read the held bytes twice in a row, and
/// resuming 1.3 GiB of 2 GiB took longer than sending it all. So the receiver hashes a
/// kept file once, right after the transfer that left it ended (in the background, before
/// anyone waits for it), and stores the result in the extended attribute
/// `user.peershare.prefix-hash`: the 32-byte hash, then the size, mtime seconds and mtime
/// nanoseconds of the file it was computed from (u64be, i64be, u32be; 52 bytes). It is used
/// only while the file still has exactly that size and mtime: every write, cut or resume
/// changes one of them. Files without it (older builds, file systems without user
/// attributes, an agent killed before it finished) are hashed when an offer needs them, and
/// the result is stored then.
enum PrefixHashCache {
    static let attribute = "user.peershare.prefix-hash"
    static let recordBytes = ResumeRecord.prefixHashBytes + 20

    /// The remembered hash of the whole of the open file `fd` (whose `fstat` is `info`),
    /// or nil when there is none or it was computed from other contents.
    static func cached(_ fd: Int32, _ info: stat) -> [UInt8]? {
        var record = [UInt8](repeating: 0, count: recordBytes)
        let count = record.withUnsafeMutableBytes { psys_fgetxattr(fd, attribute, $0.baseAddress, UInt($0.count)) }
        guard count == recordBytes else { return nil }
        guard Array(record[ResumeRecord.prefixHashBytes...]) == stamp(info) else { return nil }
        return Array(record[..<ResumeRecord.prefixHashBytes])
    }

    /// Remembers `hash` as the hash of the whole file `fd` as it is now (`info`); a file
    /// system without user attributes just does not remember it.
    static func store(_ fd: Int32, _ info: stat, hash: [UInt8]) {
        guard hash.count == ResumeRecord.prefixHashBytes else { return }
        let record = hash + stamp(info)
        _ = record.withUnsafeBytes { psys_fsetxattr(fd, attribute, $0.baseAddress, UInt($0.count)) }
    }

    /// Hashes the whole of `fd` (a kept partial file, opened for reading; taken over and
    /// closed) on a Dispatch worker thread (not the agent's event loops or task pool) and
    /// stores the result, unless a session took the file up meanwhile. Not at utility
    /// priority: a resend that arrives at once waits for this result (`waitForPending`), and
    /// at low priority on a busy machine that wait was longer than hashing anew. No lock is
    /// held while hashing: a resend must be able to lock the file and continue it; its cut
    /// and writes change the size or mtime, and then nothing is stored.
    static func fillLater(_ fd: Int32) {
        guard let info = try? SystemCall.status(fd) else {
            SystemCall.close(fd)
            return
        }
        let id = FileID(info)
        let group = DispatchGroup()
        group.enter()
        pending.withLockedValue { $0[id] = group }
        DispatchQueue.global(qos: .userInitiated).async {
            defer {
                SystemCall.close(fd)
                pending.withLockedValue { if $0[id] === group { $0[id] = nil } }
                group.leave()
            }
            guard flock(fd, LOCK_SH | LOCK_NB) == 0 else { return } // a session holds it already
            flock(fd, LOCK_UN)
            guard let before = try? SystemCall.status(fd), before.st_size > 0, cached(fd, before) == nil,
                  let hash = PrefixHash.compute(fd: fd, length: UInt64(before.st_size)) else { return }
            guard let after = try? SystemCall.status(fd), stamp(after) == stamp(before) else { return }
            store(fd, after, hash: hash)
        }
    }

    /// Waits until a background hash of the file `info` describes, if one is running, has
    /// ended: an offer that arrives right after a cut then uses its result instead of
    /// reading the same bytes a second time, at the same time.
    static func waitForPending(_ info: stat) {
        pending.withLockedValue { $0[FileID(info)] }?.wait()
    }

    /// Background hashes running in this process, by file.
    private static let pending = NIOLockedValueBox<[FileID: DispatchGroup]>([:])

    private struct FileID: Hashable {
        let device: UInt64
        let inode: UInt64
        init(_ info: stat) {
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
        }
    }

    private static func stamp(_ info: stat) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(20)
        let size = UInt64(max(0, info.st_size))
        let seconds = UInt64(bitPattern: Int64(info.st_mtim.tv_sec))
        let nanoseconds = UInt32(clamping: info.st_mtim.tv_nsec)
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: size >> UInt64(shift))) }
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: seconds >> UInt64(shift))) }
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: nanoseconds >> UInt32(shift))) }
        return bytes
    }
}
