import Foundation
import Glibc
import PeershareAgent
import PeershareCore
import Testing
import PeershareTransfer

/// Partial files are never presented as complete, and cleanup touches only what the
/// writer made (hostile-inputs.md items 16 and 17; Warpinator CVE-2023-29380).
@Suite struct OfferWriterAbortTests {
    @Test func abortMidFileLeavesNothing() throws {
        try withScratchDirectory { root in
            let inbox = try InboxDirectory(path: root + "/inbox")
            makeFile(root + "/inbox/unrelated", [5])
            let writer = OfferWriter(inbox: inbox, transferID: "abort")
            try writer.begin(try makeEntry(.directory, "a"))
            try writer.begin(try makeEntry(.directory, "a/b"))
            // Above the 64 KiB limit of nameless (O_TMPFILE) files: a named temp file.
            try writer.begin(try makeEntry(.file, "a/b/f", size: 70_000))
            try writer.write([UInt8](repeating: 1, count: 10))
            #expect(tempFilesIn(root + "/inbox").count == 1)

            writer.abort()
            writer.abort()
            #expect(namesIn(root + "/inbox") == ["unrelated"])
            #expect(contentsOf(root + "/inbox/unrelated") == [5])
            let after = #expect(throws: InboxError.self) { try writer.begin(try makeEntry(.directory, "z")) }
            #expect(after?.code == .refusedEntry)
        }
    }

    /// A small file has no name at all until it is complete (O_TMPFILE, then linkat): not
    /// while it is written, not after an abort; once finished it has its final name only.
    @Test func aSmallFileIsInvisibleUntilFinishedAndLeavesNothingWhenAborted() throws {
        try withScratchDirectory { root in
            let inbox = try InboxDirectory(path: root + "/inbox")
            let writer = OfferWriter(inbox: inbox, transferID: "small")
            try writer.begin(try makeEntry(.directory, "s"))
            try writer.begin(try makeEntry(.file, "s/one", size: 4))
            try writer.write([1, 2])
            #expect(treeOf(root + "/inbox") == ["s"], "nothing visible while it is written")
            try writer.write([3, 4])
            try writer.finishFile()
            #expect(treeOf(root + "/inbox") == ["s", "s/one"])
            #expect(contentsOf(root + "/inbox/s/one") == [1, 2, 3, 4])
            try writer.begin(try makeEntry(.file, "s/two", size: 4))
            try writer.write([9])
            writer.abort()
            #expect(treeOf(root + "/inbox") == ["s", "s/one"], "the cut-off file left nothing")
        }
    }

    @Test func abortKeepsCompletedFilesAndRemovesOnlyEmptyDirectories() throws {
        try withScratchDirectory { root in
            let inbox = try InboxDirectory(path: root + "/inbox")
            let writer = OfferWriter(inbox: inbox, transferID: "abort2")
            try writer.begin(try makeEntry(.directory, "k"))
            try writer.writeFile(try makeEntry(.file, "k/done", size: 2), [1, 2])
            try writer.begin(try makeEntry(.directory, "k/empty"))
            try writer.begin(try makeEntry(.file, "k/partial", size: 10))
            try writer.write([1, 2, 3])
            writer.abort()
            #expect(treeOf(root + "/inbox") == ["k", "k/done"])
        }
    }

    @Test func topLevelTempFileIsRemovedOnAbort() throws {
        try withScratchDirectory { root in
            let inbox = try InboxDirectory(path: root + "/inbox")
            let writer = OfferWriter(inbox: inbox, transferID: "abort3")
            try writer.begin(try makeEntry(.file, "big.iso", size: 1 << 20))
            try writer.write([UInt8](repeating: 3, count: 4096))
            writer.abort()
            #expect(namesIn(root + "/inbox").isEmpty)
        }
    }

    @Test func droppingAnUnfinishedWriterAborts() throws {
        try withScratchDirectory { root in
            let inbox = try InboxDirectory(path: root + "/inbox")
            do {
                let writer = OfferWriter(inbox: inbox, transferID: "dropped")
                try writer.begin(try makeEntry(.directory, "d"))
                try writer.begin(try makeEntry(.file, "d/f", size: 5))
                try writer.write([1])
            }
            #expect(namesIn(root + "/inbox").isEmpty)
        }
    }

    @Test func tooMuchDataIsRefusedAtTheFirstExtraByte() throws {
        try withScratchDirectory { root in
            let inbox = try InboxDirectory(path: root + "/inbox")
            let writer = OfferWriter(inbox: inbox, transferID: "much")
            try writer.begin(try makeEntry(.directory, "d"))
            try writer.begin(try makeEntry(.file, "d/f", size: 10))
            try writer.write([UInt8](repeating: 1, count: 8))
            try writer.write([UInt8](repeating: 1, count: 2))
            let extra = #expect(throws: InboxError.self) { try writer.write([9]) }
            #expect(extra?.code == .sizeMismatch)
            #expect(treeOf(root + "/inbox") == ["d"])

            try writer.begin(try makeEntry(.file, "d/g", size: 10))
            let hole = #expect(throws: InboxError.self) { try writer.skipHole(11) }
            #expect(hole?.code == .sizeMismatch)
            #expect(treeOf(root + "/inbox") == ["d"])

            try writer.begin(try makeEntry(.file, "d/h", size: 10))
            try writer.skipHole(4)
            let overflow = #expect(throws: InboxError.self) { try writer.skipHole(UInt64.max) }
            #expect(overflow?.code == .sizeMismatch)
            #expect(treeOf(root + "/inbox") == ["d"])
        }
    }

    @Test func missingDataIsSizeMismatchAndNoFinalName() throws {
        try withScratchDirectory { root in
            let inbox = try InboxDirectory(path: root + "/inbox")
            let writer = OfferWriter(inbox: inbox, transferID: "short")
            try writer.begin(try makeEntry(.file, "f", size: 10))
            try writer.write([1, 2, 3, 4, 5])
            let short = #expect(throws: InboxError.self) { try writer.finishFile() }
            #expect(short?.code == .sizeMismatch)
            #expect(namesIn(root + "/inbox").isEmpty)

            // The stream ends while a file is still open: finishAll refuses it.
            try writer.begin(try makeEntry(.directory, "d"))
            try writer.begin(try makeEntry(.file, "d/g", size: 3))
            try writer.write([1])
            let ended = #expect(throws: InboxError.self) { try writer.finishAll() }
            #expect(ended?.code == .sizeMismatch)
            #expect(treeOf(root + "/inbox") == ["d"])
            writer.abort()
            #expect(namesIn(root + "/inbox").isEmpty)
        }
    }

    @Test func callsOutOfOrderAreRefused() throws {
        try withScratchDirectory { root in
            let inbox = try InboxDirectory(path: root + "/inbox")
            let writer = OfferWriter(inbox: inbox, transferID: "order")
            let noFile = #expect(throws: InboxError.self) { try writer.write([1]) }
            #expect(noFile?.code == .refusedEntry)
            let noFinish = #expect(throws: InboxError.self) { try writer.finishFile() }
            #expect(noFinish?.code == .refusedEntry)
            try writer.begin(try makeEntry(.file, "f", size: 2))
            let overlapping = #expect(throws: InboxError.self) { try writer.begin(try makeEntry(.directory, "g")) }
            #expect(overlapping?.code == .refusedEntry)
            let orphan = OfferWriter(inbox: inbox, transferID: "orphan")
            let noParent = #expect(throws: InboxError.self) { try orphan.begin(try makeEntry(.directory, "x/y")) }
            #expect(noParent?.code == .refusedEntry)
            writer.abort()
            #expect(namesIn(root + "/inbox").isEmpty)
        }
    }
}
