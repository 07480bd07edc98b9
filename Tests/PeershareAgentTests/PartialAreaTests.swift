import Foundation
import Glibc
@testable import PeershareAgent
import PeershareCore
import Testing
@testable import PeershareTransfer

/// The partial area (resume state in the inbox): what a failed transfer keeps, what a
/// resumed one reuses, and the bounds that keep it small.
@Suite struct PartialAreaTests {
    static let sender = [UInt8](repeating: 7, count: 32)
    static let other = [UInt8](repeating: 9, count: 32)

    static func summary(_ names: [String], files: UInt64, bytes: UInt64) -> OfferSummary {
        OfferSummary(senderName: "s", fileCount: files, directoryCount: 2, symlinkCount: 0, totalBytes: bytes,
                     topLevelNames: names, moreTopLevelNames: 0)
    }

    @Test func aFailedTransferKeepsItsFileAndTheResendContinuesIt() throws {
        try withScratchDirectory { root in
            let inbox = try InboxDirectory(path: root + "/inbox")
            let area = try PartialArea(inbox: inbox, sender: Self.sender)
            let writer = OfferWriter(inbox: inbox, transferID: "t1", area: area, holdings: .empty)
            try writer.begin(try makeEntry(.directory, "d"))
            try writer.writeFile(try makeEntry(.file, "d/done", size: 3), [1, 2, 3])
            // Above the 64 KiB limit of nameless files, so it is written in the partial area.
            let big = (0..<70_000).map { UInt8($0 % 251) }
            try writer.begin(try makeEntry(.file, "d/big", size: 70_000))
            try writer.write(Array(big[0..<4]))
            writer.abort(keepPartial: true)
            area.close()
            #expect(treeOf(root + "/inbox") == [".peershare-partial", ".peershare-partial/\(area.senderTag).claims",
                                                ".peershare-partial/\(area.partialName(key: ResumeKeys.fileKey(sender: Self.sender, entry: try makeEntry(.file, "d/big", size: 70_000))))",
                                                "d", "d/done"].sorted())

            // Another sender holds nothing here.
            let foreign = try PartialArea(inbox: inbox, sender: Self.other)
            let none = ResumeHoldings.find(area: foreign, summary: Self.summary(["d"], files: 2, bytes: 70_003))
            #expect(none.records.isEmpty && none.adopted.isEmpty)
            foreign.close()

            // The same sender: the folder is adopted, d/done complete, d/big held for 4 bytes.
            let again = try PartialArea(inbox: inbox, sender: Self.sender)
            let holdings = ResumeHoldings.find(area: again, summary: Self.summary(["d"], files: 2, bytes: 70_003))
            #expect(holdings.adopted == ["d": "d"])
            #expect(holdings.complete.count == 1 && holdings.partial.count == 1 && holdings.heldBytes == 7)
            let resumed = OfferWriter(inbox: inbox, transferID: "t2", area: again, holdings: holdings)
            try resumed.begin(try makeEntry(.directory, "d"))
            try resumed.begin(try makeEntry(.file, "d/done", size: 3), resumeFrom: 3)
            #expect(!resumed.hasOpenFile)
            // A claim that does not match what was announced is refused.
            #expect(throws: InboxError.self) { try resumed.begin(try makeEntry(.file, "d/big", size: 70_000), resumeFrom: 3) }
            try resumed.begin(try makeEntry(.file, "d/big", size: 70_000), resumeFrom: 4)
            try resumed.write(Array(big[4...]))
            try resumed.finishFile()
            try resumed.finishAll()
            again.close()
            #expect(resumed.resumedBytes == 7 && resumed.filesAlreadyPresent == 1)
            #expect(contentsOf(root + "/inbox/d/big") == big)
            #expect(treeOf(root + "/inbox") == ["d", "d/big", "d/done"], "the area is removed once empty")
        }
    }

    @Test func theAgeSweepSparesAFileBeingFinishedAndTheCapKeepsTheNewest() throws {
        try withScratchDirectory { root in
            let inbox = try InboxDirectory(path: root + "/inbox")
            let area = try PartialArea(inbox: inbox, sender: Self.sender)
            defer { area.close() }
            let dir = root + "/inbox/.peershare-partial/"
            // A finished file carries the sender's old mtime before its rename: ctime decides.
            for index in 0..<(PartialArea.maxPartialsPerSender + 3) {
                let key = ResumeKeys.fileKey(sender: Self.sender, path: "f\(index)", size: 1, mtimeSeconds: 0, mtimeNanoseconds: 0)
                makeFile(dir + area.partialName(key: key), [UInt8(index)], mtime: (1_000_000_000, 0))
            }
            makeFile(dir + "stale-by-ctime-is-impossible-here", [1], mtime: (1_000_000_000, 0))
            let kept = area.sweep()
            #expect(kept.count == PartialArea.maxPartialsPerSender)
            #expect(namesIn(dir).count == PartialArea.maxPartialsPerSender + 1, "\(namesIn(dir))")
            // Far in the future, everything is stale.
            _ = area.sweep(now: time(nil) + PartialArea.maxAgeSeconds + 10)
            #expect(namesIn(dir).isEmpty)
        }
    }

    @Test func aSymlinkPlantedAsTheAreaIsRefused() throws {
        try withScratchDirectory { root in
            let inbox = try InboxDirectory(path: root + "/inbox")
            try FileManager.default.createDirectory(atPath: root + "/elsewhere", withIntermediateDirectories: true)
            #expect(symlink("../elsewhere", root + "/inbox/.peershare-partial") == 0)
            #expect(throws: InboxError.self) { try PartialArea(inbox: inbox, sender: Self.sender) }
            #expect(namesIn(root + "/elsewhere").isEmpty)
        }
    }

    @Test("A folder another session of the same sender is still filling is not adopted; once that session ends, it is")
    func aFolderBeingFilledIsNotAdopted() throws {
        try withScratchDirectory { root in
            let inbox = try InboxDirectory(path: root + "/inbox")
            let filling = try PartialArea(inbox: inbox, sender: Self.sender)
            let writer = OfferWriter(inbox: inbox, transferID: "t1", area: filling, holdings: .empty)
            try writer.begin(try makeEntry(.directory, "d"))
            try writer.writeFile(try makeEntry(.file, "d/done", size: 3), [1, 2, 3])

            // A second session of the same sender, through another descriptor of the inbox.
            let sameInbox = try InboxDirectory(path: root + "/inbox")
            let second = try PartialArea(inbox: sameInbox, sender: Self.sender)
            let whileFilling = ResumeHoldings.find(area: second, summary: Self.summary(["d"], files: 2, bytes: 13))
            #expect(whileFilling.adopted.isEmpty && whileFilling.records.isEmpty)
            second.close()

            writer.abort(keepPartial: true)
            filling.close()
            let third = try PartialArea(inbox: sameInbox, sender: Self.sender)
            defer { third.close() }
            #expect(ResumeHoldings.find(area: third, summary: Self.summary(["d"], files: 2, bytes: 13)).adopted == ["d": "d"])
            // And while the third holds it, a fourth cannot.
            let fourth = try PartialArea(inbox: inbox, sender: Self.sender)
            defer { fourth.close() }
            #expect(ResumeHoldings.find(area: fourth, summary: Self.summary(["d"], files: 2, bytes: 13)).adopted.isEmpty)
        }
    }

    @Test func aFolderPutUnderTheClaimedNameLaterIsNotAdopted() throws {
        try withScratchDirectory { root in
            let inbox = try InboxDirectory(path: root + "/inbox")
            let area = try PartialArea(inbox: inbox, sender: Self.sender)
            defer { area.close() }
            let writer = OfferWriter(inbox: inbox, transferID: "t1", area: area, holdings: .empty)
            try writer.begin(try makeEntry(.directory, "d"))
            try writer.writeFile(try makeEntry(.file, "d/done", size: 3), [1, 2, 3])
            writer.abort(keepPartial: true)
            #expect(ResumeHoldings.find(area: area, summary: Self.summary(["d"], files: 2, bytes: 13)).adopted == ["d": "d"])
            // The person replaces the folder with one of their own under the same name.
            try FileManager.default.moveItem(atPath: root + "/inbox/d", toPath: root + "/inbox/d-old")
            try FileManager.default.createDirectory(atPath: root + "/inbox/d", withIntermediateDirectories: false)
            let holdings = ResumeHoldings.find(area: area, summary: Self.summary(["d"], files: 2, bytes: 13))
            #expect(holdings.adopted.isEmpty && holdings.complete.isEmpty)
        }
    }

    @Test func claimsSurviveOnlyForUnfinishedNames() throws {
        try withScratchDirectory { root in
            let inbox = try InboxDirectory(path: root + "/inbox")
            let area = try PartialArea(inbox: inbox, sender: Self.sender)
            defer { area.close() }
            for name in ["a (2)", "b", "a (3)"] { try FileManager.default.createDirectory(atPath: root + "/inbox/" + name, withIntermediateDirectories: false) }
            area.appendClaim("a", placed: "a (2)")
            area.appendClaim("b", placed: "b")
            area.appendClaim("a", placed: "a (3)")
            area.appendClaim("c", placed: "not there")
            #expect(area.claims().mapValues(\.placed) == ["a": "a (3)", "b": "b"])
            #expect(area.claims()["b"]?.inode == lstatOf(root + "/inbox/b").map { UInt64($0.st_ino) })
            area.removeClaims(["a"])
            #expect(area.claims().mapValues(\.placed) == ["b": "b"])
            area.removeClaims(["b"])
            #expect(area.claims().isEmpty)
        }
    }
}
