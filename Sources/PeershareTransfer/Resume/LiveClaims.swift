import Glibc
import NIOConcurrencyHelpers
import PeersharePosix

/// The top-level names in an inbox that a receiving session of this process is filling.
///
/// Every session from one sender reads the same claims journal. Without this set, two
/// concurrent sessions of one sender could adopt the same unfinished folder, or one could
/// adopt the folder the other is still writing; both would then write into it, and the
/// later one fails on names the earlier one created. One agent serves a home (`AgentLock`),
/// so a set in this process sees every writer. Inboxes are told apart by device and inode,
/// because sessions may each open their own descriptor for the same folder.
///
/// Each `PartialArea` owns one instance: what it reserved is released when the area closes.
final class LiveClaims: Sendable {
    private struct Key: Hashable {
        let device: UInt64
        let inode: UInt64
        let name: String
    }

    /// Every name reserved by any session of this process.
    private static let held = NIOLockedValueBox<Set<Key>>([])
    /// What this instance reserved (released by `releaseAll`).
    private let mine = NIOLockedValueBox<[Key]>([])

    /// Reserves `name` in the inbox open as `inboxDescriptor` for this instance: true if it
    /// is now this instance's (also when it already was), false if another session holds it
    /// or the inbox cannot be identified (then nothing is adopted: the safe side).
    func reserve(_ name: String, inboxDescriptor: Int32) -> Bool {
        guard let info = try? SystemCall.status(inboxDescriptor) else { return false }
        let key = Key(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), name: name)
        if mine.withLockedValue({ $0.contains(key) }) { return true }
        let taken = Self.held.withLockedValue { held in held.insert(key).inserted }
        if taken { mine.withLockedValue { $0.append(key) } }
        return taken
    }

    /// Gives back everything this instance reserved. Idempotent.
    func releaseAll() {
        let keys = mine.withLockedValue { keys in
            defer { keys.removeAll() }
            return keys
        }
        Self.held.withLockedValue { held in
            for key in keys { held.remove(key) }
        }
    }

    deinit { releaseAll() }
}
