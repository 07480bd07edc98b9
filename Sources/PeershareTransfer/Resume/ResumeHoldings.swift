import Glibc
import PeersharePosix
import PeershareCore

/// What the receiver already holds from one sender for one offer, found before it accepts:
/// complete files in the folders that sender's unfinished transfers placed (from the
/// claims journal, for the top-level names of this offer), and unfinished files in the
/// partial area. Announced to the sender in HOLDING messages; a RESUME claim is accepted
/// only if it matches one of these records exactly.
struct ResumeHoldings {
    /// Original top-level name → name in the inbox, for this offer's names only.
    var adopted: [String: String] = [:]
    /// Their inodes as claimed (an adopted folder must still be that very directory).
    var adoptedInodes: [String: UInt64] = [:]
    /// Keys of files complete under their final names.
    var complete: Set<[UInt8]> = []
    /// Keys of unfinished files → (name in the area, bytes held).
    var partial: [[UInt8]: (name: String, held: UInt64)] = [:]
    /// What goes to the sender.
    var records: [ResumeRecord] = []
    /// Sum of the bytes held (complete sizes and partial prefixes), for the space check.
    var heldBytes: UInt64 = 0

    static let empty = ResumeHoldings()

    /// Looks up the claims journal (a placed name counts only while it is still the entry
    /// this agent created, same inode) and the partial area. Walks each adopted folder through
    /// descriptors only (`openat2` beneath the inbox, then `openat(O_NOFOLLOW)` per level,
    /// `fstatat(AT_SYMLINK_NOFOLLOW)` per name), at most `summary.fileCount` files and 128
    /// levels deep; names that are not valid UTF-8 cannot be from a sender and are skipped.
    ///
    /// Only partial files that can belong to this offer (`PartialArea.mayBelong`) are
    /// hashed, so unrelated unfinished transfers cost no reading; `checking` is told how many
    /// files and bytes will be read before the hashing starts (not called when none: every
    /// candidate's hash was remembered, `PrefixHashCache`).
    static func find(area: PartialArea, summary: OfferSummary,
                     checking: (_ files: Int, _ bytes: UInt64) -> Void = { _, _ in }) -> ResumeHoldings {
        var holdings = ResumeHoldings()
        let claims = area.claims()
        var budget = Int(min(summary.fileCount, UInt64(WireLimits.maxEntries)))
        for original in summary.topLevelNames {
            guard let claim = claims[original],
                  let info = try? SystemCall.statusNoFollow(area.inbox.descriptor, claim.placed),
                  UInt64(info.st_ino) == claim.inode,
                  // Not a folder another session of this agent is filling or completing.
                  area.live.reserve(claim.placed, inboxDescriptor: area.inbox.descriptor) else { continue }
            let placed = claim.placed
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                guard let fd = try? SystemCall.openBeneath(area.inbox.descriptor, placed,
                                                           flags: O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW) else { continue }
                holdings.adopted[original] = placed
                holdings.adoptedInodes[original] = claim.inode
                holdings.walk(fd, path: original, depth: 1, area: area, budget: &budget)
            case S_IFREG:
                holdings.adopted[original] = placed
                holdings.adoptedInodes[original] = claim.inode
                if budget > 0 {
                    budget -= 1
                    holdings.addComplete(path: original, info: info, area: area)
                }
            default:
                continue
            }
        }
        var toRead: [PartialArea.PartialFile] = []
        for file in area.sweep() where area.mayBelong(file, to: summary) {
            if let hash = area.rememberedPrefixHash(of: file.name, length: file.size) {
                holdings.addPartial(file, hash: hash)
            } else {
                toRead.append(file)
            }
        }
        if !toRead.isEmpty {
            checking(toRead.count, toRead.reduce(0) { $0.addingReportingOverflow($1.size).partialValue })
        }
        for file in toRead {
            guard let hash = area.prefixHash(of: file.name, length: file.size) else { continue }
            holdings.addPartial(file, hash: hash)
        }
        return holdings
    }

    private mutating func addPartial(_ file: PartialArea.PartialFile, hash: [UInt8]) {
        guard partial[file.key] == nil else { return }
        partial[file.key] = (file.name, file.size)
        records.append(.partial(key: file.key, heldBytes: file.size, prefixHash: hash))
        heldBytes = heldBytes.addingReportingOverflow(file.size).partialValue
    }

    /// Takes ownership of `fd`.
    private mutating func walk(_ fd: Int32, path: String, depth: Int, area: PartialArea, budget: inout Int) {
        guard let listing = try? DirectoryListing(taking: fd, path: path) else { return }
        for raw in listing.names {
            guard budget > 0 else { return }
            guard let name = String(validating: raw, as: UTF8.self),
                  let info = try? SystemCall.statusNoFollow(listing.descriptor, name) else { continue }
            let child = path + "/" + name
            switch info.st_mode & S_IFMT {
            case S_IFREG:
                budget -= 1
                addComplete(path: child, info: info, area: area)
            case S_IFDIR where depth < PathRules.maxDepth:
                guard let sub = try? SystemCall.openAt(listing.descriptor, name, flags: O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW) else { continue }
                walk(sub, path: child, depth: depth + 1, area: area, budget: &budget)
            default:
                continue
            }
        }
    }

    private mutating func addComplete(path: String, info: stat, area: PartialArea) {
        guard info.st_size > 0 else { return } // empty files cost nothing to send
        let size = UInt64(info.st_size)
        let key = ResumeKeys.fileKey(sender: area.sender, path: path, size: size,
                                     mtimeSeconds: Int64(info.st_mtim.tv_sec), mtimeNanoseconds: UInt32(clamping: info.st_mtim.tv_nsec))
        guard complete.insert(key).inserted else { return }
        records.append(.complete(key: key))
        heldBytes = heldBytes.addingReportingOverflow(size).partialValue
    }
}
