import Foundation
import Glibc
import PeershareAgent
import PeershareCore
import Testing
import PeershareTransfer

/// Names already in the inbox are never overwritten (hostile-inputs.md items 9 and 10).
@Suite struct OfferWriterCollisionTests {
    @Test func existingTopLevelNamesGetASuffixAndStayUntouched() throws {
        try withScratchDirectory { root in
            let inbox = try InboxDirectory(path: root + "/inbox")
            let base = root + "/inbox/"
            makeFile(base + "report.txt", Array("original".utf8), mtime: (1_234_567_890, 55))
            try FileManager.default.createDirectory(atPath: base + "photos", withIntermediateDirectories: false)
            makeFile(base + "photos/a.jpg", Array("old photo".utf8), mtime: (1_000_000_000, 1))
            makeFile(base + "notes", [9])
            try FileManager.default.createDirectory(atPath: base + "notes (2)", withIntermediateDirectories: false)

            let writer = OfferWriter(inbox: inbox, transferID: "c1")
            try writer.writeFile(try makeEntry(.file, "report.txt", size: 3), Array("new".utf8))
            try writer.begin(try makeEntry(.directory, "photos"))
            try writer.writeFile(try makeEntry(.file, "photos/a.jpg", size: 9), Array("new photo".utf8))
            try writer.begin(try makeEntry(.directory, "notes"))
            try writer.finishAll()

            #expect(writer.placedTopLevelNames == ["report (2).txt", "photos (2)", "notes (3)"])
            #expect(contentsOf(base + "report.txt") == Array("original".utf8))
            let original = try #require(lstatOf(base + "report.txt"))
            #expect(original.st_mtim.tv_sec == 1_234_567_890 && original.st_mtim.tv_nsec == 55)
            #expect(contentsOf(base + "report (2).txt") == Array("new".utf8))
            #expect(contentsOf(base + "photos/a.jpg") == Array("old photo".utf8))
            #expect(try #require(lstatOf(base + "photos/a.jpg")).st_mtim.tv_sec == 1_000_000_000)
            #expect(contentsOf(base + "photos (2)/a.jpg") == Array("new photo".utf8))
            #expect(contentsOf(base + "notes") == [9])
            #expect(namesIn(base + "notes (2)").isEmpty)
            #expect(namesIn(base + "notes (3)").isEmpty)
        }
    }

    @Test func duplicatesInsideTheOfferAreRefusedNotMerged() throws {
        try withScratchDirectory { root in
            let inbox = try InboxDirectory(path: root + "/inbox")
            let writer = OfferWriter(inbox: inbox, transferID: "dup")
            try writer.begin(try makeEntry(.directory, "d"))
            try writer.writeFile(try makeEntry(.file, "d/f", size: 1), [1])

            let sameFile = #expect(throws: InboxError.self) { try writer.writeFile(try makeEntry(.file, "d/f", size: 1), [2]) }
            #expect(sameFile?.code == .exists)
            let sameDirectory = #expect(throws: InboxError.self) { try writer.begin(try makeEntry(.directory, "d")) }
            #expect(sameDirectory?.code == .exists)
            let fileAsDirectory = #expect(throws: InboxError.self) { try writer.begin(try makeEntry(.directory, "d/f")) }
            #expect(fileAsDirectory?.code == .exists)
            let underFile = #expect(throws: InboxError.self) { try writer.begin(try makeEntry(.file, "d/f/x")) }
            #expect(underFile?.code == .refusedEntry)

            #expect(contentsOf(root + "/inbox/d/f") == [1])
            #expect(tempFilesIn(root + "/inbox").isEmpty)
            writer.abort()
            #expect(contentsOf(root + "/inbox/d/f") == [1])
        }
    }
}
