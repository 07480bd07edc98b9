import Testing
@testable import PeershareCore

/// The stream grammar a receiver enforces (hostile-inputs.md items 8, 9, 12, 16–19, 21).
@Suite("Entry accounting")
struct WireAccountingTests {
    typealias S = WireSamples

    /// An accounting that has seen the offer `summary` and the directory `top`.
    static func started(_ summary: OfferSummary = S.summary()) throws -> EntryAccounting {
        var accounting = EntryAccounting()
        #expect(try accounting.accept(.offer(summary)) == .offer(summary))
        #expect(try accounting.beginEntry(S.directory("top")))
        return accounting
    }

    @Test("a complete, well-formed stream yields the expected events")
    func happyPath() throws {
        var a = EntryAccounting()
        let summary = S.summary()
        let messages: [StreamMessage] = [
            .offer(summary),
            .entry(try S.directory("top")),
            .entry(try S.file("top/a.txt", size: 6)),
            .data([1, 2, 3]),
            .hole(2),
            .data([4]),
            .entry(try S.directory("top/sub")),
            .entry(try S.file("top/sub/b", size: 4)),
            .data([1, 2, 3, 4]),
            .entry(try S.symlink("top/sub/l", to: "../a.txt")),
            .end(files: 2, bytes: 10),
        ]
        var events: [EntryAccounting.Event] = []
        for message in messages { events.append(try a.accept(message)) }
        #expect(events == [
            .offer(summary),
            .entry(try S.directory("top"), complete: true),
            .entry(try S.file("top/a.txt", size: 6), complete: false),
            .data(count: 3, fileComplete: false),
            .hole(length: 2, fileComplete: false),
            .data(count: 1, fileComplete: true),
            .entry(try S.directory("top/sub"), complete: true),
            .entry(try S.file("top/sub/b", size: 4), complete: false),
            .data(count: 4, fileComplete: true),
            .entry(try S.symlink("top/sub/l", to: "../a.txt"), complete: true),
            .end(files: 2, bytes: 10),
        ])
        #expect(a.isFinished)
        #expect(throws: WireError.unexpectedMessage(received: "data", expected: "nothing (the stream has ended)")) {
            try a.accept(.data([0]))
        }
        #expect(throws: WireError.self) { try a.accept(.failure(.cancelled, "")) }
    }

    @Test("16. more data than declared fails at the chunk holding the first extra byte")
    func tooMuchData() throws {
        var a = try Self.started()
        _ = try a.beginEntry(S.file("top/f", size: 10))
        #expect(try a.data(count: 6) == false)
        #expect(throws: WireError.dataBeyondSize(path: "top/f", size: 10)) { try a.data(count: 5) }
        #expect(try a.data(count: 4) == true) // the failed call changed nothing

        var b = try Self.started()
        _ = try b.beginEntry(S.file("top/f", size: 10))
        #expect(throws: WireError.dataBeyondSize(path: "top/f", size: 10)) { try b.hole(length: 11) }
        #expect(throws: WireError.dataBeyondSize(path: "top/f", size: 10)) { try b.accept(.hole(UInt64.max)) }
    }

    @Test("17. less data, then the next entry or the end, is an incomplete file")
    func tooLittleData() throws {
        var a = try Self.started()
        _ = try a.beginEntry(S.file("top/f", size: 10))
        _ = try a.data(count: 9)
        #expect(throws: WireError.fileIncomplete(path: "top/f", expected: 10, received: 9)) {
            try a.beginEntry(S.file("top/g", size: 0))
        }
        #expect(throws: WireError.fileIncomplete(path: "top/f", expected: 10, received: 9)) {
            try a.end(files: 1, bytes: 9)
        }
    }

    @Test("data or a hole outside a file is rejected")
    func dataOutsideFile() throws {
        var fresh = EntryAccounting()
        #expect(throws: WireError.unexpectedMessage(received: "data", expected: "offer")) { try fresh.data(count: 1) }
        #expect(throws: WireError.unexpectedMessage(received: "entry", expected: "offer")) {
            try fresh.accept(.entry(S.directory("top")))
        }
        var a = try Self.started()
        #expect(throws: WireError.unexpectedMessage(received: "data", expected: "entry or end")) {
            try a.accept(.data([1]))
        }
        _ = try a.beginEntry(S.file("top/empty", size: 0))
        #expect(throws: WireError.unexpectedMessage(received: "hole", expected: "entry or end")) {
            try a.hole(length: 1)
        }
        #expect(throws: WireError.emptyData) { try a.data(count: 0) }
    }

    @Test("messages of the wrong direction or a second offer are rejected")
    func wrongMessages() throws {
        var a = try Self.started()
        for message: StreamMessage in [.accept(receiverName: "r"), .refuse(.declined, ""), .done(files: 0, bytes: 0), .offer(S.summary())] {
            #expect(throws: WireError.self) { try a.accept(message) }
        }
    }

    @Test("9. a path sent twice is a duplicate, whatever its kind")
    func duplicates() throws {
        var a = try Self.started()
        _ = try a.beginEntry(S.file("top/x", size: 0))
        #expect(throws: WireError.duplicatePath("top/x")) { try a.beginEntry(S.file("top/x", size: 0)) }
        #expect(throws: WireError.duplicatePath("top/x")) { try a.beginEntry(S.directory("top/x")) }
        #expect(throws: WireError.duplicatePath("top")) { try a.beginEntry(S.directory("top")) }
    }

    @Test("8. NFC and NFD spellings of one name are duplicates")
    func normalizationDuplicates() throws {
        var a = try Self.started()
        _ = try a.beginEntry(S.directory("top/caf\u{E9}"))
        #expect(throws: WireError.duplicatePath("top/cafe\u{301}")) { try a.beginEntry(S.file("top/cafe\u{301}", size: 0)) }
        // A child spelled with the other form would name a different directory on Linux.
        #expect(throws: WireError.parentSpellingMismatch("top/cafe\u{301}/x")) {
            try a.beginEntry(S.file("top/cafe\u{301}/x", size: 0))
        }
        #expect(try a.beginEntry(S.file("top/caf\u{E9}/x", size: 0)))
    }

    @Test("an entry before its parent directory, or under a file or symlink, is rejected")
    func parentFirst() throws {
        var a = try Self.started()
        #expect(throws: WireError.parentNotDirectory("top/d/x")) { try a.beginEntry(S.file("top/d/x", size: 0)) }
        _ = try a.beginEntry(S.file("top/f", size: 0))
        #expect(throws: WireError.parentNotDirectory("top/f/x")) { try a.beginEntry(S.file("top/f/x", size: 0)) }
        _ = try a.beginEntry(S.symlink("top/l", to: "f"))
        #expect(throws: WireError.parentNotDirectory("top/l/x")) { try a.beginEntry(S.directory("top/l/x")) }

        var b = EntryAccounting(summary: S.summary(names: ["top", "other"]))
        #expect(throws: WireError.parentNotDirectory("top/x")) { try b.beginEntry(S.file("top/x", size: 0)) }
    }

    /// The accounting remembers the parent it confirmed last and compares bytes; these
    /// are the cases where that shortcut must not answer for another directory.
    @Test("a parent confirmed for the previous entry vouches only for the same bytes")
    func confirmedParentIsExact() throws {
        var a = try Self.started(S.summary(files: 20, directories: 10))
        _ = try a.beginEntry(S.directory("top/b"))
        _ = try a.beginEntry(S.file("top/b/x", size: 0))
        // A longer or shorter name sharing the confirmed parent's bytes.
        #expect(throws: WireError.parentNotDirectory("top/bc/x")) { try a.beginEntry(S.file("top/bc/x", size: 0)) }
        _ = try a.beginEntry(S.file("top/c", size: 0))
        _ = try a.beginEntry(S.file("top/b/y", size: 0))
        #expect(throws: WireError.parentNotDirectory("top/c/x")) { try a.beginEntry(S.file("top/c/x", size: 0)) }
        // Back to an earlier parent after another one, and a duplicate under the confirmed one.
        _ = try a.beginEntry(S.directory("top/d"))
        _ = try a.beginEntry(S.file("top/d/x", size: 0))
        #expect(try a.beginEntry(S.file("top/b/z", size: 0)))
        #expect(throws: WireError.duplicatePath("top/b/z")) { try a.beginEntry(S.file("top/b/z", size: 0)) }
        // The other normalization form of the confirmed parent is still another directory.
        _ = try a.beginEntry(S.directory("top/caf\u{E9}"))
        _ = try a.beginEntry(S.file("top/caf\u{E9}/x", size: 0))
        #expect(throws: WireError.parentSpellingMismatch("top/cafe\u{301}/y")) {
            try a.beginEntry(S.file("top/cafe\u{301}/y", size: 0))
        }
        #expect(try a.beginEntry(S.file("top/caf\u{E9}/y", size: 0)))
    }

    @Test("18/19. counts and bytes never exceed the offer")
    func totals() throws {
        var files = try Self.started(S.summary(files: 1))
        _ = try files.beginEntry(S.file("top/a", size: 0))
        #expect(throws: WireError.exceedsOffer(what: "files", declared: 1)) { try files.beginEntry(S.file("top/b", size: 0)) }

        var dirs = try Self.started(S.summary(directories: 1))
        #expect(throws: WireError.exceedsOffer(what: "directories", declared: 1)) { try dirs.beginEntry(S.directory("top/d")) }

        var links = try Self.started(S.summary(symlinks: 0))
        #expect(throws: WireError.exceedsOffer(what: "symlinks", declared: 0)) {
            try links.beginEntry(S.symlink("top/l", to: "x"))
        }

        var bytes = try Self.started(S.summary(bytes: 10))
        _ = try bytes.beginEntry(S.file("top/a", size: 6))
        _ = try bytes.data(count: 6)
        #expect(throws: WireError.exceedsOffer(what: "bytes", declared: 10)) { try bytes.beginEntry(S.file("top/b", size: 5)) }
        #expect(bytes.files == 1 && bytes.declaredBytes == 6) // the rejected entry changed no count

        var names = try Self.started(S.summary(names: ["top"]))
        #expect(throws: WireError.exceedsOffer(what: "top-level names", declared: 1)) { try names.beginEntry(S.directory("x")) }

        var listed = try Self.started(S.summary(names: ["top", "b"]))
        #expect(throws: WireError.topLevelNotInOffer("x")) { try listed.beginEntry(S.directory("x")) }
        #expect(try listed.beginEntry(S.directory("b")))
    }

    @Test("18. Int64.max and overflowing sizes are refused")
    func hugeSizes() throws {
        let max = WireLimits.maxTotalBytes
        var a = try Self.started(S.summary(files: 3, bytes: max))
        #expect(throws: WireError.badEntry(path: "top/big", reason: "size \(Int64.max) over 2^62")) {
            try a.beginEntry(S.file("top/big", size: UInt64(Int64.max)))
        }
        #expect(throws: WireError.badEntry(path: "top/big", reason: "size \(UInt64.max) over 2^62")) {
            try a.beginEntry(S.file("top/big", size: UInt64.max))
        }
        #expect(try a.beginEntry(S.file("top/one", size: max)) == false)
        #expect(try a.hole(length: max) == true)
        // A second file of 2^62: the sum would be 2^63, above the offer.
        #expect(throws: WireError.exceedsOffer(what: "bytes", declared: max)) {
            try a.beginEntry(S.file("top/two", size: max))
        }
    }

    @Test("21. the end must match what was sent and what was offered")
    func endCounts() throws {
        func streamed() throws -> EntryAccounting {
            var a = try Self.started(S.summary(files: 1, directories: 1, symlinks: 0, bytes: 3))
            _ = try a.beginEntry(S.file("top/a", size: 3))
            _ = try a.data(count: 3)
            return a
        }
        var a = try streamed()
        #expect(throws: WireError.endMismatch(what: "files (sent)", declared: 2, received: 1)) { try a.end(files: 2, bytes: 3) }
        #expect(throws: WireError.endMismatch(what: "bytes (sent)", declared: 4, received: 3)) { try a.end(files: 1, bytes: 4) }
        try a.end(files: 1, bytes: 3)
        #expect(a.isFinished)

        var fewer = try Self.started(S.summary(files: 2, directories: 1, symlinks: 0, bytes: 3))
        _ = try fewer.beginEntry(S.file("top/a", size: 3))
        _ = try fewer.data(count: 3)
        #expect(throws: WireError.endMismatch(what: "files (offered)", declared: 2, received: 1)) {
            try fewer.end(files: 1, bytes: 3)
        }
        var missingBytes = try Self.started(S.summary(files: 1, directories: 1, symlinks: 0, bytes: 5))
        _ = try missingBytes.beginEntry(S.file("top/a", size: 3))
        _ = try missingBytes.data(count: 3)
        #expect(throws: WireError.endMismatch(what: "bytes (offered)", declared: 5, received: 3)) {
            try missingBytes.end(files: 1, bytes: 3)
        }
    }

    @Test("entries inconsistent with their kind are rejected even when built directly")
    func shapes() throws {
        var a = try Self.started()
        let dirWithSize = Entry(kind: .directory, path: try S.path("top/d"), size: 1, mode: 0o755, mtimeSeconds: 0)
        #expect(throws: WireError.self) { try a.beginEntry(dirWithSize) }
        let linkWithoutTarget = Entry(kind: .symlink, path: try S.path("top/l"), mode: 0o777, mtimeSeconds: 0)
        #expect(throws: WireError.self) { try a.beginEntry(linkWithoutTarget) }
        #expect(throws: WireError.invalidSymlinkTarget(.symlinkEscapes("../x"))) {
            try a.beginEntry(S.symlink("top/l", to: "../x"))
        }
    }

    @Test("a failure from the sender ends the stream")
    func failure() throws {
        var a = try Self.started()
        _ = try a.beginEntry(S.file("top/f", size: 10))
        #expect(try a.accept(.failure(.ioError, "disk")) == .failure(.ioError, "disk"))
        #expect(a.isFinished)
        #expect(throws: WireError.self) { try a.accept(.data([1])) }
    }
}
