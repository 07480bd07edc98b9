/// The receiver's check of the stream grammar: a pure state machine fed with every
/// decoded sender message in order. It touches no disk; the receiver acts on an event
/// only after `accept` returned it, so a violation stops the transfer before any byte
/// of the offending message is written.
///
/// Grammar: `offer (entry (data | hole)*)* end`, and for each check what it prevents:
/// - the offer comes first and only once: nothing is written before a person saw what
///   is coming (item 18: a total is refused before anything is written);
/// - an entry is top-level or its parent is a directory announced earlier in this offer,
///   with the same bytes: the receiver only creates inside directories it made itself,
///   never through a symlink or a pre-existing path (items 12, 13, 14);
/// - no path twice, compared with `String` equality (NFC and NFD spellings are one name),
///   including a name used as both file and directory (items 8, 9);
/// - data and holes only inside a file and never past its declared size, checked before
///   the bytes are written, so the first extra byte aborts (item 16);
/// - the next entry or the end only once the current file is complete (item 17);
/// - counts and bytes never above the offer, with overflow-checked sums (items 18, 19);
/// - the paths of one offer within `WireLimits.maxOfferPathBytes`, which bounds the
///   only memory kept: the set of paths seen (item 19);
/// - a top-level name must be listed in the summary when the summary lists all of them,
///   so the person accepted exactly these names;
/// - END matches the offer and what arrived, and nothing is accepted after END or
///   FAILURE (item 21);
/// - RESUME only between entries, once, directly before a file ENTRY whose size is at
///   least its offset; the resumed bytes count as received (the receiver checks that it
///   really holds them, see `OfferWriter`).
public struct EntryAccounting: Sendable {
    /// What the receiver should do with the message just accepted.
    public enum Event: Sendable, Equatable {
        /// The offer: show it and ask.
        case offer(OfferSummary)
        /// Create this entry. `complete` is true when nothing more belongs to it
        /// (directories, symlinks, empty files).
        case entry(Entry, complete: Bool)
        /// Write `count` bytes of the current file; `fileComplete` when they are its last.
        case data(count: Int, fileComplete: Bool)
        /// Skip `length` zero bytes of the current file.
        case hole(length: UInt64, fileComplete: Bool)
        /// The sender is done and every count matched: answer DONE.
        case end(files: UInt64, bytes: UInt64)
        /// The sender aborted.
        case failure(FailureCode, String)
        /// The next entry is a file of which the receiver holds the first `offset` bytes.
        case resume(offset: UInt64)
    }

    private enum State: Sendable {
        case awaitingOffer
        case betweenEntries
        case inFile(path: String, size: UInt64, received: UInt64)
        case finished
    }

    private var state: State
    /// The offer being received (nil until the OFFER message).
    public private(set) var summary: OfferSummary?
    /// Every path of this offer and its kind. Keys compare canonically (NFC = NFD).
    private var seen: [String: EntryKind] = [:]
    private var pathBytes = 0
    private var topLevelCount: UInt64 = 0
    /// The parent directory confirmed last (empty: none yet). Entries of a tree come
    /// directory by directory, so most share the parent of the entry before them; then
    /// comparing bytes replaces building the parent's text and looking it up. Sound because
    /// `seen` only grows and a path's kind never changes: a parent confirmed once stays a
    /// directory of this offer with exactly these bytes.
    private var confirmedParent = ""

    public private(set) var files: UInt64 = 0
    public private(set) var directories: UInt64 = 0
    public private(set) var symlinks: UInt64 = 0
    /// Sum of the declared sizes of the files announced so far.
    public private(set) var declaredBytes: UInt64 = 0
    /// Bytes of file content received so far (data plus holes plus resumed bytes).
    public private(set) var receivedBytes: UInt64 = 0
    /// Of `receivedBytes`, those the receiver already held (RESUME offsets).
    public private(set) var resumedBytes: UInt64 = 0
    /// A RESUME offset waiting for its file ENTRY.
    public private(set) var pendingResume: UInt64?

    /// Starts before the OFFER message.
    public init() {
        state = .awaitingOffer
    }

    /// Starts with an offer that arrived some other way (for example in the handshake).
    public init(summary: OfferSummary) {
        self.summary = summary
        state = .betweenEntries
        reservePaths(for: summary)
    }

    /// Sizes the set of paths for the offer's entries, up to `maxReservedPaths`: growing it
    /// one doubling at a time rehashed every path seen so far again and again. The cap keeps
    /// an offer that announces many entries and sends none from costing memory up front.
    private mutating func reservePaths(for summary: OfferSummary) {
        let declared = summary.fileCount.addingReportingOverflow(summary.directoryCount).partialValue
            .addingReportingOverflow(summary.symlinkCount).partialValue
        seen.reserveCapacity(Int(min(declared, UInt64(Self.maxReservedPaths))))
    }

    /// 32,768 paths take a table of 65,536 slots, about 1.1 MiB; a larger offer grows from there.
    static let maxReservedPaths = 1 << 15

    /// True once END was accepted or FAILURE received.
    public var isFinished: Bool {
        if case .finished = state { return true }
        return false
    }

    /// Checks one sender message against the grammar and updates the counts.
    public mutating func accept(_ message: StreamMessage) throws(WireError) -> Event {
        switch message {
        case .offer(let summary, _):
            guard case .awaitingOffer = state else { throw unexpected(message) }
            self.summary = summary
            reservePaths(for: summary)
            state = .betweenEntries
            return .offer(summary)
        case .entry(let entry):
            return .entry(entry, complete: try beginEntry(entry))
        case .data(let bytes):
            if bytes.isEmpty { throw .emptyData }
            return .data(count: bytes.count, fileComplete: try data(count: bytes.count))
        case .hole(let length):
            return .hole(length: length, fileComplete: try hole(length: length))
        case .end(let files, let bytes):
            try end(files: files, bytes: bytes)
            return .end(files: files, bytes: bytes)
        case .failure(let code, let text):
            if case .finished = state { throw unexpected(message) }
            state = .finished
            return .failure(code, text)
        case .resume(let offset):
            try resume(offset: offset)
            return .resume(offset: offset)
        case .accept, .refuse, .done, .holding, .hello, .text:
            // TEXT goes through `text(_:mtimeSeconds:)`, once the session checked its capability.
            throw unexpected(message)
        }
    }

    /// Announces the next entry; returns true when it needs no data (not a non-empty file).
    public mutating func beginEntry(_ entry: Entry) throws(WireError) -> Bool {
        guard let summary else { throw .unexpectedMessage(received: "entry", expected: "offer") }
        switch state {
        case .awaitingOffer, .finished:
            throw .unexpectedMessage(received: "entry", expected: expectedNext)
        case .inFile(let path, let size, let received):
            throw .fileIncomplete(path: path, expected: size, received: received)
        case .betweenEntries:
            break
        }
        let path = entry.path.string
        try checkShape(entry, path: path)
        if let offset = pendingResume, entry.kind != .file || entry.size < offset {
            throw .badEntry(path: path, reason: "a resume offset of \(offset) does not fit it")
        }

        // Memory bound first: the set of paths is all we keep.
        let (newPathBytes, overflow) = pathBytes.addingReportingOverflow(path.utf8.count)
        if overflow || newPathBytes > WireLimits.maxOfferPathBytes {
            throw .offerPathsTooLarge(limit: WireLimits.maxOfferPathBytes)
        }
        if seen[path] != nil { throw .duplicatePath(path) }

        // Nothing is stored until every check passed: a rejected entry changes no count.
        var newTopLevelCount = topLevelCount
        var newConfirmedParent = confirmedParent
        if entry.path.depth > 1 {
            let parentCount = path.utf8.count - entry.path.name.utf8.count - 1
            if !Self.isPrefix(confirmedParent, of: path, count: parentCount) {
                let parentText = String(Substring(path.utf8.prefix(parentCount)))
                guard let index = seen.index(forKey: parentText), seen[index].value == .directory else {
                    throw .parentNotDirectory(path)
                }
                // Canonically equal but different bytes (NFC against NFD): on Linux that is
                // another, missing directory. Refuse rather than guess.
                if !seen[index].key.utf8.elementsEqual(parentText.utf8) { throw .parentSpellingMismatch(path) }
                newConfirmedParent = parentText
            }
        } else {
            newTopLevelCount += 1
            if newTopLevelCount > UInt64(summary.topLevelNames.count) + summary.moreTopLevelNames {
                throw .exceedsOffer(what: "top-level names",
                                    declared: UInt64(summary.topLevelNames.count) + summary.moreTopLevelNames)
            }
            if summary.listsAllTopLevelNames,
               !summary.topLevelNames.contains(where: { $0.utf8.elementsEqual(path.utf8) }) {
                throw .topLevelNotInOffer(path)
            }
        }

        switch entry.kind {
        case .file:
            let newFiles = try increment(files, limit: summary.fileCount, what: "files")
            let (total, overflow) = declaredBytes.addingReportingOverflow(entry.size)
            if overflow || total > summary.totalBytes {
                throw .exceedsOffer(what: "bytes", declared: summary.totalBytes)
            }
            files = newFiles
            declaredBytes = total
        case .directory:
            directories = try increment(directories, limit: summary.directoryCount, what: "directories")
        case .symlink:
            symlinks = try increment(symlinks, limit: summary.symlinkCount, what: "symlinks")
        }

        seen[path] = entry.kind
        pathBytes = newPathBytes
        topLevelCount = newTopLevelCount
        confirmedParent = newConfirmedParent
        let resumed = pendingResume ?? 0
        pendingResume = nil
        receivedBytes += resumed // ≤ entry.size, and declaredBytes ≤ totalBytes ≤ 2^62
        resumedBytes += resumed
        if entry.kind == .file, entry.size > resumed {
            state = .inFile(path: path, size: entry.size, received: resumed)
            return false
        }
        return true
    }

    /// True when `prefix` is exactly the first `count` bytes of `text`. Compares contiguous
    /// bytes: the generic `elementsEqual` on two UTF-8 views cost more than the lookup it
    /// saves.
    private static func isPrefix(_ prefix: String, of text: String, count: Int) -> Bool {
        guard prefix.utf8.count == count else { return false }
        let same = prefix.utf8.withContiguousStorageIfAvailable { a in
            text.utf8.withContiguousStorageIfAvailable { b in a.elementsEqual(b.prefix(count)) }
        }
        return (same ?? nil) ?? prefix.utf8.elementsEqual(text.utf8.prefix(count))
    }

    /// Accounts a RESUME: allowed only between entries, once, with an offset of at least
    /// 1; the next message must be a file ENTRY of at least that size.
    public mutating func resume(offset: UInt64) throws(WireError) {
        guard case .betweenEntries = state, pendingResume == nil else {
            throw .unexpectedMessage(received: "resume", expected: pendingResume == nil ? expectedNext : "entry")
        }
        guard offset > 0, offset <= WireLimits.maxTotalBytes else { throw .valueOutOfRange(field: "offset", value: offset) }
        pendingResume = offset
    }

    /// Accounts `count` bytes of the current file, before they are written. Returns true
    /// when the file is complete. The hot path calls this directly for DATA messages.
    public mutating func data(count: Int) throws(WireError) -> Bool {
        guard count > 0 else { throw .emptyData }
        return try advance(UInt64(count), what: "data")
    }

    /// Accounts a hole of `length` zero bytes in the current file.
    public mutating func hole(length: UInt64) throws(WireError) -> Bool {
        guard length > 0 else { throw .emptyData }
        return try advance(length, what: "hole")
    }

    /// Checks END: no file left incomplete, and the counts equal both what the offer
    /// declared and what arrived.
    public mutating func end(files endFiles: UInt64, bytes endBytes: UInt64) throws(WireError) {
        guard let summary else { throw .unexpectedMessage(received: "end", expected: "offer") }
        switch state {
        case .awaitingOffer, .finished:
            throw .unexpectedMessage(received: "end", expected: expectedNext)
        case .inFile(let path, let size, let received):
            throw .fileIncomplete(path: path, expected: size, received: received)
        case .betweenEntries:
            break
        }
        if pendingResume != nil { throw .unexpectedMessage(received: "end", expected: "entry") }
        if endFiles != files { throw .endMismatch(what: "files (sent)", declared: endFiles, received: files) }
        if endBytes != receivedBytes {
            throw .endMismatch(what: "bytes (sent)", declared: endBytes, received: receivedBytes)
        }
        if files != summary.fileCount {
            throw .endMismatch(what: "files (offered)", declared: summary.fileCount, received: files)
        }
        if directories != summary.directoryCount {
            throw .endMismatch(what: "directories (offered)", declared: summary.directoryCount, received: directories)
        }
        if symlinks != summary.symlinkCount {
            throw .endMismatch(what: "symlinks (offered)", declared: summary.symlinkCount, received: symlinks)
        }
        if receivedBytes != summary.totalBytes {
            throw .endMismatch(what: "bytes (offered)", declared: summary.totalBytes, received: receivedBytes)
        }
        state = .finished
    }

    // MARK: Private

    private mutating func advance(_ count: UInt64, what: String) throws(WireError) -> Bool {
        guard case .inFile(let path, let size, let received) = state else {
            throw .unexpectedMessage(received: what, expected: expectedNext)
        }
        // received ≤ size ≤ 2^62 and count ≤ 2^62 (or an Int): the sum cannot overflow,
        // but check anyway so a future cap change cannot make this wrap.
        let (total, overflow) = received.addingReportingOverflow(count)
        if overflow || total > size { throw .dataBeyondSize(path: path, size: size) }
        receivedBytes += count // ≤ declaredBytes ≤ totalBytes ≤ 2^62
        if total == size {
            state = .betweenEntries
            return true
        }
        state = .inFile(path: path, size: size, received: total)
        return false
    }

    /// Fields that must agree with the kind (the codec guarantees them; direct callers may not).
    private func checkShape(_ entry: Entry, path: String) throws(WireError) {
        switch entry.kind {
        case .file:
            if entry.linkTarget != nil { throw .badEntry(path: path, reason: "a file with a link target") }
            if entry.size > WireLimits.maxTotalBytes {
                throw .badEntry(path: path, reason: "size \(entry.size) over 2^62")
            }
        case .directory:
            if entry.linkTarget != nil || entry.size != 0 {
                throw .badEntry(path: path, reason: "a directory with a size or link target")
            }
        case .symlink:
            guard let target = entry.linkTarget, entry.size == 0 else {
                throw .badEntry(path: path, reason: "a symlink without a target or with a size")
            }
            do throws(PathError) {
                try PathRules.validateSymlinkTarget(target, linkPath: entry.path)
            } catch {
                throw .invalidSymlinkTarget(error)
            }
        }
    }

    private func increment(_ value: UInt64, limit: UInt64, what: String) throws(WireError) -> UInt64 {
        if value >= limit || value >= UInt64(WireLimits.maxEntries) {
            throw .exceedsOffer(what: what, declared: limit)
        }
        return value + 1
    }

    private var expectedNext: String {
        switch state {
        case .awaitingOffer: "offer"
        case .betweenEntries: "entry or end"
        case .inFile: "data or hole"
        case .finished: "nothing (the stream has ended)"
        }
    }

    private func unexpected(_ message: StreamMessage) -> WireError {
        .unexpectedMessage(received: message.name, expected: expectedNext)
    }
}
