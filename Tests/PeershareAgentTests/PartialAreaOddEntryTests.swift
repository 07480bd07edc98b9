import Foundation
import Glibc
@testable import PeershareAgent
import PeershareCore
import Testing
@testable import PeershareTransfer

/// An unfinished file's name in the partial area taken by a symlink, a FIFO or a directory
/// (anyone who can write to the inbox can do that): the entry is discarded, never followed,
/// and the file is received as if nothing had been there.
@Suite struct PartialAreaOddEntryTests {
    static let sender = [UInt8](repeating: 7, count: 32)
    /// Above the 64 KiB limit of nameless files, so it is written in the partial area.
    static let size = 70_000
    static var bytes: [UInt8] { (0..<size).map { UInt8($0 % 251) } }

    /// Calls `makeOdd(partialPath, root)` to take the file's partial name, receives the
    /// file in full, then calls `check(partialPath, root)`.
    private func receiveOver(_ makeOdd: (String, String) -> Void, check: (String, String) -> Void) throws {
        try withScratchDirectory { root in
            let inbox = try InboxDirectory(path: root + "/inbox")
            let area = try PartialArea(inbox: inbox, sender: Self.sender)
            defer { area.close() }
            let entry = try makeEntry(.file, "big", size: UInt64(Self.size))
            let partial = root + "/inbox/.peershare-partial/" + area.partialName(key: ResumeKeys.fileKey(sender: Self.sender, entry: entry))
            makeOdd(partial, root)
            let writer = OfferWriter(inbox: inbox, transferID: "t1", area: area, holdings: .empty)
            try writer.writeFile(entry, Self.bytes)
            try writer.finishAll()
            #expect(contentsOf(root + "/inbox/big") == Self.bytes)
            check(partial, root)
        }
    }

    @Test func aSymlinkIsUnlinkedNotFollowed() throws {
        try receiveOver({ partial, root in
            makeFile(root + "/outside", [1, 2, 3])
            #expect(symlink(root + "/outside", partial) == 0)
        }, check: { partial, root in
            #expect(lstatOf(partial) == nil, "the symlink is gone")
            #expect(contentsOf(root + "/outside") == [1, 2, 3], "its target is never written")
        })
    }

    @Test(.timeLimit(.minutes(1))) func aFIFOIsUnlinkedWithoutWaitingForAReader() throws {
        try receiveOver({ partial, _ in #expect(mkfifo(partial, 0o600) == 0) },
                        check: { partial, _ in #expect(lstatOf(partial) == nil, "the FIFO is gone") })
    }

    @Test func anEmptyDirectoryIsRemoved() throws {
        try receiveOver({ partial, _ in #expect(mkdir(partial, 0o700) == 0) },
                        check: { partial, _ in #expect(lstatOf(partial) == nil, "the directory is gone") })
    }

    @Test func aDirectoryWithEntriesStaysAndTheFileStillArrives() throws {
        try receiveOver({ partial, _ in
            #expect(mkdir(partial, 0o700) == 0)
            makeFile(partial + "/inside", [1])
        }, check: { partial, _ in
            #expect(contentsOf(partial + "/inside") == [1], "nothing inside it is touched")
        })
    }
}
