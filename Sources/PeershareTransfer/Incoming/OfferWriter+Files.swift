import Glibc
import PeersharePosix
internal import SystemPackage
import PeershareCore

/// Receiving regular files: temp file, positioned writes, holes, and the final claim.
/// Any failure in here discards the current temp file at once, so a file that failed can
/// never be finished later or left behind if the caller forgets `abort()`.
extension OfferWriter {
    /// Opens the temp file `.peershare-<transferID>-<n>.part` in the final parent with
    /// `openat(parent, temp, O_CREAT|O_EXCL|O_WRONLY|O_CLOEXEC|O_NOFOLLOW, mode)`
    /// (EEXIST, a leftover, moves to the next `n`). The final name is not touched yet.
    /// `mode` is the file's final mode when the umask leaves it whole (see
    /// `modeAtCreation`), else 0600 and `finishFile` sets the mode.
    func beginFile(_ entry: Entry) throws(InboxError) {
        var shown: String { DisplayEscape.escape(entry.path.string) }  // built only for an error message
        guard entry.size <= UInt64(Int64.max) else {
            throw InboxError(.refusedEntry, "'\(shown)' declares \(entry.size) bytes, more than a file can hold")
        }
        let (parent, placedPath) = try destination(of: entry)
        if entry.size <= Self.unnamedFileLimit, beginUnnamedFile(entry, parent: parent, placedPath: placedPath) {
            return
        }
        if area != nil {
            try beginFileInPartialArea(entry, parent: parent, placedPath: placedPath)
            return
        }
        for _ in 0..<Self.maxTempAttempts {
            let tempName = ".peershare-\(transferTag)-\(nextTempNumber()).part"
            do {
                let finalMode = Self.modeAtCreation(entry)
                let fd = try SystemCall.openAt(parent, tempName,
                                               flags: O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW,
                                               mode: mode_t(finalMode ?? 0o600))
                current = IncomingFile(descriptor: fd, parentDescriptor: parent, tempDirectory: parent, tempName: tempName,
                                       entry: entry, placedPath: placedPath)
                current?.createdWithFinalMode = finalMode != nil
                return
            } catch where error == .fileExists {
                continue
            } catch {
                throw InboxError.system(error, "cannot create a temporary file for", placedPath)
            }
        }
        throw InboxError(.exists, "no free temporary name for '\(DisplayEscape.escape(placedPath))'")
    }

    /// Where a file entry goes: the directory that will hold its final name (the inbox for
    /// a top-level file, which must not repeat one of this offer; else its placed parent,
    /// opened beneath the inbox) and its path with the placed top-level name.
    func destination(of entry: Entry) throws(InboxError) -> (parent: Int32, placedPath: String) {
        if entry.path.depth == 1 {
            try tree.refuseDuplicate(entry.path.topLevel)
            return (inbox.descriptor, entry.path.string)
        }
        let placed = try tree.placement(of: entry)
        return (try tree.openParent(placed.parentPath), placed.path)
    }

    /// A small file is received without a name: `openat(parent, ".", O_TMPFILE|O_WRONLY,
    /// mode)`, then `linkat` to its final name in `finishFile` (never replacing). That is
    /// what keeps an incomplete file invisible, like a temp name, with one call less and
    /// nothing to remove on failure, and costs less per file than a temp name and
    /// `renameat2` (BENCHMARKS.md). Small files skip the
    /// partial area: one that is cut off is sent again whole, which costs less than keeping
    /// it (open, `flock`, `fchmod` and a rename across directories per file). False if
    /// the file system has no `O_TMPFILE` (then the caller takes the named path, which
    /// also reports any other error).
    func beginUnnamedFile(_ entry: Entry, parent: Int32, placedPath: String) -> Bool {
        guard !unnamedFilesUnsupported else { return false }
        let finalMode = Self.modeAtCreation(entry)
        let fd: Int32
        do {
            fd = try SystemCall.openAt(parent, ".", flags: SystemCall.unnamedFileFlag | O_WRONLY | O_CLOEXEC,
                                       mode: mode_t(finalMode ?? 0o600))
        } catch {
            let unsupported: Set<Errno> = [.notSupported, .isDirectory, .invalidArgument]
            if unsupported.contains(error) { unnamedFilesUnsupported = true }
            return false
        }
        var file = IncomingFile(descriptor: fd, parentDescriptor: parent, tempDirectory: parent, tempName: "",
                                entry: entry, placedPath: placedPath)
        file.unnamed = true
        file.createdWithFinalMode = finalMode != nil
        current = file
        return true
    }

    /// Gives the finished `file` the name `name` in `directory`: `linkat` for a nameless
    /// file, `renameat2(RENAME_NOREPLACE)` of its temp name otherwise. Never replaces.
    func place(_ file: IncomingFile, in directory: Int32, as name: String) throws(Errno) {
        if file.unnamed {
            try SystemCall.linkUnnamed(file.descriptor, to: directory, name)
        } else {
            try SystemCall.renameNoReplace(file.tempDirectory, file.tempName, to: directory, name)
        }
    }

    /// Appends `bytes` to the current file at its current offset (swift-system's `writeAll`:
    /// `pwrite` until all is written, EINTR retried). More than the declared size is refused before anything is written:
    /// `.sizeMismatch` (hostile-inputs.md item 16).
    package func write(_ bytes: UnsafeRawBufferPointer) throws(InboxError) {
        var file = try requireCurrentFile()
        let count = UInt64(bytes.count)
        guard count <= file.remaining else {
            discardCurrentFile()
            throw InboxError(.sizeMismatch,
                             "'\(DisplayEscape.escape(file.placedPath))' got more than its declared \(file.entry.size) bytes")
        }
        do {
            _ = try FileDescriptor(rawValue: file.descriptor).writeAll(toAbsoluteOffset: Int64(file.offset), bytes)
        } catch {
            discardCurrentFile()
            throw InboxError.system(error as? Errno ?? .ioError, "cannot write", file.placedPath)
        }
        file.offset += count
        file.writtenEnd = max(file.writtenEnd, file.offset)
        current = file
        countContent(count)
    }

    /// Advances the current file's offset by `length` without writing: the skipped range
    /// stays a hole. Beyond the declared size: `.sizeMismatch`.
    package func skipHole(_ length: UInt64) throws(InboxError) {
        var file = try requireCurrentFile()
        guard length <= file.remaining else {
            discardCurrentFile()
            throw InboxError(.sizeMismatch,
                             "'\(DisplayEscape.escape(file.placedPath))' got more than its declared \(file.entry.size) bytes")
        }
        file.offset += length
        current = file
        countContent(length)
    }

    /// Completes the current file: the offset must equal the declared size (else
    /// `.sizeMismatch`, item 17); `ftruncate(size)` when it ends in a hole; `fchmod` to
    /// `PathRules.safeMode` (not needed when the temp file was created with that mode, see
    /// `modeAtCreation`); `futimens` to the declared time; `close`; then
    /// `renameat2(temp, final, RENAME_NOREPLACE)`. A taken top-level name moves on to the
    /// next `UniqueName` candidate; a taken name below the top level is `.exists`.
    package func finishFile() throws(InboxError) {
        let file = try requireCurrentFile()
        var shown: String { DisplayEscape.escape(file.placedPath) }  // built only for an error message
        guard file.offset == file.entry.size else {
            discardCurrentFile()
            throw InboxError(.sizeMismatch, "'\(shown)' ended after \(file.offset) of \(file.entry.size) bytes")
        }
        let descriptor = FileDescriptor(rawValue: file.descriptor)
        do {
            if file.writtenEnd < file.entry.size {
                try descriptor.resize(to: Int64(file.entry.size), retryOnInterrupt: true)
            }
            if !file.createdWithFinalMode {
                try SystemCall.changeMode(file.descriptor, PathRules.safeMode(file.entry.mode, kind: .file))
            }
            if file.resumable { PartialArea.unlabel(file.descriptor) }
            try SystemCall.setModificationTime(
                file.descriptor,
                SystemCall.timespecFor(seconds: file.entry.mtimeSeconds, nanoseconds: file.entry.mtimeNanoseconds))
        } catch {
            discardCurrentFile()
            throw InboxError.system(error as? Errno ?? .ioError, "cannot complete", file.placedPath)
        }
        // The descriptor stays open (and a partial-area file stays locked, so no cleanup
        // of another transfer takes it for a stale leftover) until the rename is done;
        // a failure only has the temp name to remove.
        defer { SystemCall.close(file.descriptor) }
        var placing = IncomingFile(descriptor: -1, parentDescriptor: file.parentDescriptor, tempDirectory: file.tempDirectory,
                                   tempName: file.tempName, entry: file.entry, placedPath: file.placedPath)
        placing.unnamed = file.unnamed
        current = placing
        if file.entry.path.depth == 1 {
            try claimTopLevelFile(file)
        } else if tree.isInAdoptedFolder(file.placedPath) {
            try claimNameInAdoptedFolder(file)
        } else {
            do {
                try place(file, in: file.parentDescriptor, as: file.entry.path.name)
            } catch {
                discardCurrentFile()
                throw InboxError.system(error, "cannot place", file.placedPath)
            }
        }
        current = nil
        countCompletedFile()
    }

    /// The mode to create the temp file with so that it needs no `fchmod` at the end (one
    /// system call less per file): the final mode, `PathRules.safeMode`, when the process
    /// umask clears none of its bits; nil otherwise (then 0600, and `fchmod` at the end).
    /// The final mode never has world-write, setuid, setgid or sticky bits, so the temp file
    /// allows nobody anything the finished file will not allow them.
    static func modeAtCreation(_ entry: Entry) -> UInt32? {
        let mode = PathRules.safeMode(entry.mode, kind: .file)
        guard let mask = SystemCall.processUmask, mode & ~UInt32(mask) == mode else { return nil }
        return mode
    }

    /// Claims a top-level file name in the inbox (`place`: `linkat` or `renameat2`, never
    /// replacing), trying `UniqueName` candidates while the name is taken, and records it.
    private func claimTopLevelFile(_ file: IncomingFile) throws(InboxError) {
        let original = file.entry.path.topLevel
        let candidate = try placeUnderFreeName(file, original, in: inbox.descriptor, shown: { $0 })
        tree.claimTopLevel(original, as: candidate)
        area?.appendClaim(original, placed: candidate)
    }

    /// Places `file` in `directory` under `original` or, while that is taken, the next
    /// `UniqueName` candidate; returns the name used. Any other failure, or no free name
    /// after `maxNameAttempts`, discards the file; `shown` gives the path an error names
    /// for a candidate (or for `original` when every candidate was taken).
    func placeUnderFreeName(_ file: IncomingFile, _ original: String, in directory: Int32,
                            shown: (String) -> String) throws(InboxError) -> String {
        for attempt in 1...Self.maxNameAttempts {
            let candidate = UniqueName.candidate(original, attempt: attempt, isDirectory: false)
            do {
                try place(file, in: directory, as: candidate)
                return candidate
            } catch where error == .fileExists {
                continue
            } catch {
                discardCurrentFile()
                throw InboxError.system(error, "cannot place", shown(candidate))
            }
        }
        discardCurrentFile()
        throw InboxError(.exists, "no free name for '\(DisplayEscape.escape(shown(original)))' after \(Self.maxNameAttempts) tries")
    }

    private func requireCurrentFile() throws(InboxError) -> IncomingFile {
        try requireRunning()
        guard let file = current else {
            throw InboxError(.refusedEntry, "file data arrived without a file entry")
        }
        return file
    }

    /// Closes the current temp file (if still open) and removes its temp name with
    /// `unlinkat(tempDirectory, temp)`: the only thing this writer ever unlinks. With
    /// `keep`, a resumable partial-area file that holds data stays for a later resume.
    func discardCurrentFile(keep: Bool = false) {
        guard let file = current else { return }
        current = nil
        let kept = keep && file.resumable && file.writtenEnd > 0 && !file.unnamed
        // A kept file is hashed in the background for the resend ahead (`PrefixHashCache`),
        // through a descriptor opened while this writer still holds it: the very file it
        // wrote, even if its name is taken up or finished by another session right after.
        let reader = kept ? try? SystemCall.openAt(file.tempDirectory, file.tempName, flags: O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK) : nil
        if file.descriptor >= 0 { SystemCall.close(file.descriptor) }
        unfinished = UnfinishedFile(placedPath: file.placedPath, keptBytes: kept ? file.writtenEnd : nil)
        if file.unnamed { return }  // closing it was all: it never had a name
        if kept {
            if let reader { PrefixHashCache.fillLater(reader) }
            return
        }
        try? SystemCall.unlink(file.tempDirectory, file.tempName)
    }
}
