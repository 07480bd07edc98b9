import Glibc
import PeersharePosix
internal import SystemPackage
import PeershareCore
import SodiumKit

/// The hidden partial area `.peershare-partial/` inside the inbox, seen from one sender.
///
/// Why it exists: a transfer cut by `kill -9` (of either side), a cut network or Ctrl-C
/// must be able to continue later, after agent restarts too. So every file is received
/// here, under a name derived from the sender's identity and the file's path, size and
/// time (`ResumeKeys`), and only moved to its final name once complete; a failed transfer
/// leaves its unfinished file here instead of deleting it. Next to the files, one small
/// journal per sender (`<tag>.claims`) remembers which top-level names of its unfinished
/// transfers were placed under which inbox names, so that a resend completes that folder
/// instead of starting a " (2)" copy.
///
/// Names, all in this one directory (no subdirectories):
/// - `<tag>-<key>.part`: a file being received or left unfinished (`tag` =
///   `ResumeKeys.senderTag`, `key` = `ResumeKeys.fileKey`, both 32 hex digits);
/// - `<tag>-<transfer>-<n>.tmp`: a file received while another session of the same sender
///   holds its `.part` (never resumed);
/// - `<tag>.claims`, lines `original TAB placed TAB inode`: top-level names of unfinished
///   transfers and the inode each placed entry had when it was created.
///
/// Safety: the area is reached only through the inbox descriptor (`mkdirat`, then
/// `openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS)`), must be a directory owned by this
/// user (it is set to 0700), and everything in it is opened with `O_NOFOLLOW`.
/// Bounds: entries untouched (ctime) for `maxAgeSeconds` (7 days) are deleted whenever a
/// transfer starts, a sender keeps at most `maxPartialsPerSender` unfinished files (the
/// oldest go first), and the directory is removed when it is empty and unused.
///
/// One `PartialArea` per incoming transfer, never used by two threads at once: the session's
/// task reads what it holds before ACCEPT, then only the transfer's writer uses it (on the
/// `WritePipeline` queue) until the session closes it, after the writer stopped.
final class PartialArea {
    static let directoryName = ".peershare-partial"
    static let maxAgeSeconds = 7 * 24 * 3600
    static let maxPartialsPerSender = 16
    /// A claims journal larger than this is ignored (and rewritten empty on success).
    static let maxClaimsBytes = 1 << 20

    let inbox: InboxDirectory
    /// The area, `openat2(inbox, ".peershare-partial", O_DIRECTORY|O_NOFOLLOW, RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS)`.
    let descriptor: Int32
    let sender: [UInt8]
    let senderTag: String
    /// The top-level names this transfer fills or adopts, kept from other sessions.
    let live = LiveClaims()
    private var closed = false

    /// One unfinished file of this sender.
    struct PartialFile {
        let key: [UInt8]
        let name: String
        let size: UInt64
        let modified: Int
    }

    /// Creates the area if needed and opens it; counts this transfer as a user so the
    /// directory is not removed under it.
    init(inbox: InboxDirectory, sender: [UInt8]) throws(InboxError) {
        self.inbox = inbox
        self.sender = sender
        self.senderTag = ResumeKeys.senderTag(sender)
        let opened: Result<Int32, InboxError> = inbox.partialUsers.withLockedValue { users in
            do throws(Errno) {
                try SystemCall.makeDirectory(inbox.descriptor, Self.directoryName, mode: 0o700)
            } catch where error == .fileExists {
                // Already there (another transfer, or an earlier one that left files).
            } catch {
                return .failure(InboxError.system(error, "cannot create the partial area", Self.directoryName))
            }
            let fd: Int32
            do throws(Errno) {
                fd = try SystemCall.openBeneath(inbox.descriptor, Self.directoryName, flags: O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            } catch {
                return .failure(InboxError.system(error, "cannot open the partial area", Self.directoryName))
            }
            guard let info = try? SystemCall.status(fd), info.st_uid == geteuid() else {
                SystemCall.close(fd)
                return .failure(InboxError(.io, "the partial area \(Self.directoryName) in the inbox is not this user's directory"))
            }
            if info.st_mode & 0o7777 != 0o700 { _ = try? SystemCall.changeMode(fd, 0o700) }
            users += 1
            return .success(fd)
        }
        descriptor = try opened.get()
    }

    deinit { close() }

    /// Closes the area; the last user removes the directory if it is empty
    /// (`unlinkat(AT_REMOVEDIR)` never removes a non-empty one). Idempotent.
    func close() {
        guard !closed else { return }
        closed = true
        live.releaseAll()
        SystemCall.close(descriptor)
        let inbox = self.inbox
        inbox.partialUsers.withLockedValue { users in
            users -= 1
            if users == 0 { try? SystemCall.unlink(inbox.descriptor, Self.directoryName, flags: AT_REMOVEDIR) }
        }
    }

    // MARK: Names

    func partialName(key: [UInt8]) -> String { "\(senderTag)-\(ResumeKeys.hex(key)).part" }
    var claimsName: String { "\(senderTag).claims" }

    // MARK: Listing and bounds

    /// Deletes every entry (of any sender) not modified for `maxAgeSeconds`, then returns
    /// this sender's unfinished files, newest first, deleting those beyond
    /// `maxPartialsPerSender` (files another session holds locked are left alone).
    func sweep(now: Int = time(nil)) -> [PartialFile] {
        let listingFD: Int32
        do {
            listingFD = try SystemCall.openAt(descriptor, ".", flags: O_DIRECTORY | O_RDONLY | O_CLOEXEC)
        } catch {
            return []
        }
        guard let listing = try? DirectoryListing(taking: listingFD, path: Self.directoryName) else { return [] }
        var mine: [PartialFile] = []
        let prefix = senderTag + "-"
        for raw in listing.names {
            guard let name = String(validating: raw, as: UTF8.self),
                  let info = try? SystemCall.statusNoFollow(descriptor, name) else { continue }
            let kind = info.st_mode & S_IFMT
            if kind == S_IFDIR { continue }
            // Age by ctime, which nobody can set back: a file being finished already
            // carries the sender's (old) mtime. A file another session holds is never taken.
            if now - info.st_ctim.tv_sec > Self.maxAgeSeconds {
                if !isLocked(name) { try? SystemCall.unlink(descriptor, name) }
                continue
            }
            guard kind == S_IFREG, name.hasPrefix(prefix), name.hasSuffix(".part"), info.st_size > 0 else { continue }
            let hex = name.dropFirst(prefix.count).dropLast(".part".count)
            guard let key = Hex.decode(String(hex)), key.count == ResumeRecord.keyBytes else { continue }
            mine.append(PartialFile(key: key, name: name, size: UInt64(info.st_size), modified: info.st_ctim.tv_sec))
        }
        mine.sort { $0.modified > $1.modified }
        if mine.count > Self.maxPartialsPerSender {
            for file in mine[Self.maxPartialsPerSender...] where !isLocked(file.name) {
                try? SystemCall.unlink(descriptor, file.name)
            }
            mine.removeSubrange(Self.maxPartialsPerSender...)
        }
        return mine
    }

    /// True when another session holds `name` (`flock(LOCK_SH|LOCK_NB)` fails).
    private func isLocked(_ name: String) -> Bool {
        guard let fd = try? SystemCall.openAt(descriptor, name, flags: O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK) else { return false }
        defer { SystemCall.close(fd) }
        return flock(fd, LOCK_SH | LOCK_NB) != 0
    }

    // MARK: Claims journal

    /// One top-level placement of an unfinished transfer: the name in the inbox and the
    /// inode it had when this agent created it, so that a folder the person later put
    /// under that name is never mistaken for it.
    struct Claim: Equatable {
        let placed: String
        let inode: UInt64
    }

    /// This sender's unfinished top-level placements: original name → claim (the last line
    /// for a name wins). Lines that are not two valid single path components and an inode
    /// number are ignored.
    func claims() -> [String: Claim] {
        guard let bytes = readSmallFile(claimsName) else { return [:] }
        var result: [String: Claim] = [:]
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            let fields = line.split(separator: UInt8(ascii: "\t"), omittingEmptySubsequences: false)
            guard fields.count == 3,
                  let original = String(validating: fields[0], as: UTF8.self),
                  let placed = String(validating: fields[1], as: UTF8.self),
                  let inode = String(validating: fields[2], as: UTF8.self).flatMap({ UInt64($0) }),
                  Self.isSingleComponent(original), Self.isSingleComponent(placed) else { continue }
            result[original] = Claim(placed: placed, inode: inode)
        }
        return result
    }

    /// Appends "original TAB placed TAB inode" for the entry just created at `placed` in
    /// the inbox (path rules forbid tabs and newlines in names).
    func appendClaim(_ original: String, placed: String) {
        // Reserved before the line exists, so no other session's lookup can adopt it.
        _ = live.reserve(placed, inboxDescriptor: inbox.descriptor)
        guard let info = try? SystemCall.statusNoFollow(inbox.descriptor, placed) else { return }
        let line = Array("\(original)\t\(placed)\t\(UInt64(info.st_ino))\n".utf8)
        let name = claimsName
        inbox.partialUsers.withLockedValue { _ in
            // O_NONBLOCK and the type check: a FIFO put under the journal's name must not
            // hold this session up waiting for a reader.
            guard let fd = try? SystemCall.openAt(descriptor, name, flags: O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, mode: 0o600) else { return }
            defer { SystemCall.close(fd) }
            guard let info = try? SystemCall.status(fd), info.st_mode & S_IFMT == S_IFREG else { return }
            _ = line.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        }
    }

    /// Drops the lines of `originals` (a transfer of them finished): rewrites the journal
    /// through a temp file and `renameat`, or removes it when nothing is left.
    func removeClaims(_ originals: Set<String>) {
        let remaining = claims().filter { !originals.contains($0.key) }
        let name = claimsName
        inbox.partialUsers.withLockedValue { _ in
            if remaining.isEmpty {
                try? SystemCall.unlink(descriptor, name)
                return
            }
            let temp = name + ".tmp"
            try? SystemCall.unlink(descriptor, temp)
            guard let fd = try? SystemCall.openAt(descriptor, temp, flags: O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode: 0o600) else { return }
            let text = Array(remaining.map { "\($0.key)\t\($0.value.placed)\t\($0.value.inode)\n" }.joined().utf8)
            let written = text.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            SystemCall.close(fd)
            if written == text.count {
                _ = Glibc.renameat(descriptor, temp, descriptor, name)
            } else {
                try? SystemCall.unlink(descriptor, temp)
            }
        }
    }

    private func readSmallFile(_ name: String) -> [UInt8]? {
        guard let fd = try? SystemCall.openAt(descriptor, name, flags: O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK) else { return nil }
        defer { SystemCall.close(fd) }
        guard let info = try? SystemCall.status(fd), info.st_mode & S_IFMT == S_IFREG,
              info.st_size <= Self.maxClaimsBytes else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        let count = bytes.withUnsafeMutableBytes { Glibc.pread(fd, $0.baseAddress, $0.count, 0) }
        guard count >= 0 else { return nil }
        return Array(bytes[0..<count])
    }

    static func isSingleComponent(_ name: String) -> Bool {
        guard let path = try? RelativePath(validating: name) else { return false }
        return path.depth == 1
    }
}
