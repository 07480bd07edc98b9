import Dispatch
import Glibc
import PeersharePosix
internal import SystemPackage
import PeershareCore
import NIOConcurrencyHelpers

/// Accumulates the entries of a plan while walking.
struct PlanBuilder {
    private var entries: [Entry] = []
    private var sources: [String] = []
    private var warnings: [String] = []
    private var fileCount: UInt64 = 0
    private var directoryCount: UInt64 = 0
    private var symlinkCount: UInt64 = 0
    private var totalBytes: UInt64 = 0
    private var topLevelNames: [String] = []
    /// `send --exclude`: entries inside the trees that are passed over without a word.
    let exclude: ExcludeRules

    init(exclude: ExcludeRules = .none) {
        self.exclude = exclude
    }

    func plan() -> SendPlan {
        SendPlan(entries: entries, sources: sources, warnings: warnings, fileCount: fileCount,
                 directoryCount: directoryCount, symlinkCount: symlinkCount, totalBytes: totalBytes,
                 topLevelNames: topLevelNames)
    }

    /// Adds an argument: a file entry, or a directory entry and its tree. FIFOs, sockets
    /// and devices named directly are an error (the person asked for them explicitly).
    mutating func addTopLevel(_ top: TopLevelArgument) throws(SendError) {
        let kind = top.info.st_mode & S_IFMT
        switch kind {
        case S_IFREG:
            try Self.checkReadable(AT_FDCWD, top.source, shown: top.source)
            try addFile(top.path, top.info, source: top.source)
        case S_IFDIR:
            let fd: Int32
            do {
                fd = try SystemCall.retrying { Glibc.open(top.source, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
            } catch {
                throw SendError.system(error, "cannot read directory", top.source)
            }
            add(Entry(kind: .directory, path: top.path, mode: Self.permissions(top.info),
                      mtimeSeconds: Int64(top.info.st_mtim.tv_sec), mtimeNanoseconds: Self.nanoseconds(top.info)),
                source: top.source)
            directoryCount += 1
            try walk(taking: fd, source: top.source, relative: top.path, splitting: true)
        default:
            throw SendError(.unsupportedType,
                            "'\(DisplayEscape.escape(top.source))' is a \(Self.typeName(kind)); only files and directories can be sent")
        }
        topLevelNames.append(top.name)
    }

    /// Walks the open directory `fd` (owned), whose entry path is `relative`. With
    /// `splitting` (the top-level directory), its subdirectories' trees are walked first on
    /// two threads (`walkSubdirectories`) and spliced in below at their place, so the
    /// plan is the same as walking in order.
    private mutating func walk(taking fd: Int32, source: String, relative: RelativePath, splitting: Bool = false) throws(SendError) {
        let listing = try DirectoryListing(taking: fd, path: source)
        let subtrees = splitting ? Self.walkSubdirectories(of: listing.descriptor, names: listing.names, source: source,
                                                           relative: relative, exclude: exclude) : [:]
        // Names already used in this directory, compared as Swift strings (canonical
        // equivalence): the receiver treats NFC and NFD spellings of one name as the same
        // name, so sending both would fail after the person accepted. The first one wins.
        // Distinct ASCII names are never canonically equal, so a directory of ASCII names
        // (nearly every source tree) needs no set, which saves hashing every name. One
        // non-ASCII name is enough to compare all of them: U+212A KELVIN SIGN equals "K".
        let comparesNames = !listing.names.allSatisfy { name in name.allSatisfy { $0 < 0x80 } }
        var usedNames = Set<String>()
        for (index, nameBytes) in listing.names.enumerated() {
            guard let name = String(validating: nameBytes, as: UTF8.self) else {
                warnings.append("skipped '\(DisplayEscape.escape(relative.string + "/"))\(DisplayEscape.escape(bytes: nameBytes))': the name is not valid UTF-8")
                continue
            }
            // Built only for a warning or an error: escaping every name eagerly was a
            // quarter of the planning time for a tree of small files.
            var shown: String { DisplayEscape.escape(relative.string + "/" + name) }
            guard !comparesNames || usedNames.insert(name).inserted else {
                warnings.append("skipped '\(shown)': another name in the same folder differs only in Unicode normalization (NFC/NFD)")
                continue
            }
            let childSource = source + "/" + name
            let info: stat
            do {
                info = try SystemCall.statusNoFollow(listing.descriptor, name)
            } catch where error == .noSuchFileOrDirectory {
                warnings.append("skipped '\(shown)': it disappeared while the tree was read")
                continue
            } catch {
                throw SendError.system(error, "cannot read", childSource)
            }
            let path: RelativePath
            do {
                path = try relative.appending(name)
            } catch {
                warnings.append("skipped '\(shown)': \(error.reason)")
                continue
            }
            let kind = info.st_mode & S_IFMT
            // Before anything is opened: an excluded folder's contents are never read.
            if exclude.excludes(path, isDirectory: kind == S_IFDIR) { continue }
            switch kind {
            case S_IFREG:
                if let denied = try Self.permissionDenied(listing.descriptor, name, shown: childSource) {
                    warnings.append("skipped '\(shown)': \(denied)")
                    continue
                }
                try addFile(path, info, source: childSource)
            case S_IFDIR:
                if let subtree = subtrees[index] {
                    try splice(subtree.get())
                    continue
                }
                guard let childFD = try openSubdirectory(listing.descriptor, name, source: childSource, shown: shown) else {
                    continue
                }
                add(Entry(kind: .directory, path: path, mode: Self.permissions(info),
                          mtimeSeconds: Int64(info.st_mtim.tv_sec), mtimeNanoseconds: Self.nanoseconds(info)),
                    source: childSource)
                directoryCount += 1
                try walk(taking: childFD, source: childSource, relative: path)
            case S_IFLNK:
                try addSymlink(path, info, directory: listing.descriptor, name: name, source: childSource, shown: shown)
            default:
                warnings.append("skipped '\(shown)': a \(Self.typeName(kind)); only files, directories and symlinks are sent")
            }
        }
    }

    /// Walks the trees of the subdirectories of `directory` (the names of its `listing`,
    /// the same ones the caller's loop takes as directories) on up to two threads: planning
    /// a tree of small files is mostly `fstatat` and `faccessat`, and while it runs nothing
    /// else can (the offer needs its totals), so the second core was idle. Returns each
    /// subdirectory's plan fragment (or its error) by its index in `names`.
    private static func walkSubdirectories(of directory: Int32, names: [[UInt8]], source: String,
                                           relative: RelativePath, exclude: ExcludeRules) -> [Int: Result<PlanBuilder, SendError>] {
        var jobs: [(index: Int, name: String, path: RelativePath)] = []
        var usedNames = Set<String>()
        for (index, bytes) in names.enumerated() {
            guard let name = String(validating: bytes, as: UTF8.self), usedNames.insert(name).inserted,
                  let info = try? SystemCall.statusNoFollow(directory, name), info.st_mode & S_IFMT == S_IFDIR,
                  let path = try? relative.appending(name), !exclude.excludes(path, isDirectory: true) else { continue }
            jobs.append((index, name, path))
        }
        guard jobs.count >= 2 else { return [:] }
        let work = jobs
        let results = NIOLockedValueBox<[Int: Result<PlanBuilder, SendError>]>([:])
        DispatchQueue.concurrentPerform(iterations: work.count) { job in
            let (index, name, path) = work[job]
            var fragment = PlanBuilder(exclude: exclude)
            let result: Result<PlanBuilder, SendError>
            do throws(SendError) {
                try fragment.addSubdirectory(of: directory, name: name, path: path, source: source + "/" + name)
                result = .success(fragment)
            } catch {
                result = .failure(error)
            }
            results.withLockedValue { $0[index] = result }
        }
        return results.withLockedValue { $0 }
    }

    /// A subdirectory and its tree: `fstatat` (its mode and time), `openat`, then the walk.
    private mutating func addSubdirectory(of directory: Int32, name: String, path: RelativePath, source: String) throws(SendError) {
        let info: stat
        do {
            info = try SystemCall.statusNoFollow(directory, name)
        } catch {
            throw SendError.system(error, "cannot read", source)
        }
        let shown = DisplayEscape.escape(String(path.string))
        guard let childFD = try openSubdirectory(directory, name, source: source, shown: shown) else { return }
        add(Entry(kind: .directory, path: path, mode: Self.permissions(info),
                  mtimeSeconds: Int64(info.st_mtim.tv_sec), mtimeNanoseconds: Self.nanoseconds(info)),
            source: source)
        directoryCount += 1
        try walk(taking: childFD, source: source, relative: path)
    }

    /// Appends a fragment made by `walkSubdirectories`, in place of walking it here.
    private mutating func splice(_ fragment: PlanBuilder) throws(SendError) {
        let (sum, overflow) = totalBytes.addingReportingOverflow(fragment.totalBytes)
        if overflow { throw SendError(.io, "the total size of the files overflows 64 bits") }
        totalBytes = sum
        entries += fragment.entries
        sources += fragment.sources
        warnings += fragment.warnings
        fileCount += fragment.fileCount
        directoryCount += fragment.directoryCount
        symlinkCount += fragment.symlinkCount
    }

    private mutating func addFile(_ path: RelativePath, _ info: stat, source: String) throws(SendError) {
        let size = UInt64(max(0, info.st_size))
        let (sum, overflow) = totalBytes.addingReportingOverflow(size)
        if overflow { throw SendError(.io, "the total size of the files overflows 64 bits") }
        totalBytes = sum
        fileCount += 1
        add(Entry(kind: .file, path: path, size: size, mode: Self.permissions(info),
                  mtimeSeconds: Int64(info.st_mtim.tv_sec), mtimeNanoseconds: Self.nanoseconds(info)),
            source: source)
    }

    /// `readlinkat`, then `PathRules.validateSymlinkTarget`: a link that would point outside
    /// the sent tree (absolute, or climbing too far) is skipped with a warning.
    private mutating func addSymlink(_ path: RelativePath, _ info: stat, directory: Int32, name: String,
                                     source: String, shown: String) throws(SendError) {
        let bytes: [UInt8]
        do {
            bytes = try SystemCall.readLink(directory, name)
        } catch {
            throw SendError.system(error, "cannot read symlink", source)
        }
        guard let target = String(validating: bytes, as: UTF8.self) else {
            warnings.append("skipped symlink '\(shown)': its target '\(DisplayEscape.escape(bytes: bytes))' is not valid UTF-8")
            return
        }
        do {
            try PathRules.validateSymlinkTarget(target, linkPath: path)
        } catch {
            warnings.append("skipped symlink '\(shown)' -> '\(DisplayEscape.escape(target))': \(error)")
            return
        }
        symlinkCount += 1
        add(Entry(kind: .symlink, path: path, mode: Self.permissions(info), mtimeSeconds: Int64(info.st_mtim.tv_sec),
                  mtimeNanoseconds: Self.nanoseconds(info), linkTarget: target),
            source: source)
    }

    private mutating func add(_ entry: Entry, source: String) {
        entries.append(entry)
        sources.append(source)
    }

    /// Opens a subdirectory met inside the tree. One the user may not read is left out with a
    /// warning, like a FIFO (nil), so that one locked folder does not stop the whole send; any
    /// other failure is an error.
    private mutating func openSubdirectory(_ directory: Int32, _ name: String, source: String, shown: String) throws(SendError) -> Int32? {
        do {
            return try SystemCall.openAt(directory, name, flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        } catch where error == .permissionDenied || error == .notPermitted {
            warnings.append("skipped folder '\(shown)/': \(String(describing: error).lowercased()) (it cannot be listed)")
            return nil
        } catch {
            throw SendError.system(error, "cannot read directory", source)
        }
    }

    /// Why the file cannot be read, when the reason is permission (it is then left out with a
    /// warning), or nil when it can. `faccessat(R_OK, AT_EACCESS)` costs one call per file
    /// where an open and a close cost two; the file is opened again when it is sent, and
    /// any other failure is an error before anything is sent.
    private static func permissionDenied(_ directory: Int32, _ name: String, shown: String) throws(SendError) -> String? {
        try checkReadable(directory, name, shown: shown, leavingOut: [EACCES, EPERM])
    }

    /// `faccessat(directory, name, R_OK, AT_EACCESS | AT_SYMLINK_NOFOLLOW)`: an errno in
    /// `leavingOut` is returned as text, any other failure thrown.
    @discardableResult
    private static func checkReadable(_ directory: Int32, _ name: String, shown: String,
                                      leavingOut: Set<Int32> = []) throws(SendError) -> String? {
        do {
            try SystemCall.checkAccess(directory, name, mode: R_OK, flags: AT_EACCESS | AT_SYMLINK_NOFOLLOW)
            return nil
        } catch where leavingOut.contains(error.rawValue) {
            return String(cString: strerror(error.rawValue)).lowercased()
        } catch {
            throw SendError.system(error, "cannot read", shown)
        }
    }

    private static func permissions(_ info: stat) -> UInt32 { UInt32(info.st_mode) & 0o7777 }

    private static func nanoseconds(_ info: stat) -> UInt32 {
        UInt32(clamping: max(0, min(info.st_mtim.tv_nsec, 999_999_999)))
    }

    static func typeName(_ kind: mode_t) -> String {
        switch kind {
        case S_IFIFO: "FIFO"
        case S_IFSOCK: "socket"
        case S_IFCHR: "character device"
        case S_IFBLK: "block device"
        case S_IFLNK: "symlink"
        default: "special file"
        }
    }
}
