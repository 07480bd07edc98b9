import Foundation
@testable import PeershareAgent
import PeershareCore
import Testing
@testable import PeershareTransfer

/// docs/PROTOCOL.md §6, "what R keeps": a transfer that fails for a reason that removes its
/// unfinished file (protocol error, no space, I/O error) removes exactly the `.part` it was
/// writing, held bytes included; a `.part` it announced in HOLDING but never took up stays.
@Suite struct PartialAreaFailureTests {
    static let sender = [UInt8](repeating: 7, count: 32)
    static let size: UInt64 = 70_000  // above the 64 KiB of nameless files: kept in the partial area

    @Test func aFailedSessionRemovesOnlyThePartItWasWriting() throws {
        try withScratchDirectory { root in
            let inbox = try InboxDirectory(path: root + "/inbox")
            let first = try PartialArea(inbox: inbox, sender: Self.sender)
            let writer = OfferWriter(inbox: inbox, transferID: "t1", area: first, holdings: .empty)
            try writer.begin(try makeEntry(.directory, "d"))
            try writer.begin(try makeEntry(.file, "d/a", size: Self.size))
            try writer.write([1, 2, 3, 4])
            writer.abort(keepPartial: true)
            first.close()

            let second = try PartialArea(inbox: inbox, sender: Self.sender)
            let other = OfferWriter(inbox: inbox, transferID: "t2", area: second, holdings: .empty)
            try other.begin(try makeEntry(.directory, "e"))
            try other.begin(try makeEntry(.file, "e/b", size: Self.size))
            try other.write([5, 6])
            other.abort(keepPartial: true)
            second.close()
            let partA = second.partialName(key: ResumeKeys.fileKey(sender: Self.sender, entry: try makeEntry(.file, "d/a", size: Self.size)))
            let partB = second.partialName(key: ResumeKeys.fileKey(sender: Self.sender, entry: try makeEntry(.file, "e/b", size: Self.size)))
            #expect(Set(namesIn(root + "/inbox/.peershare-partial")).isSuperset(of: [partA, partB]))

            // A third session is told about both, takes up only d/a, and fails with a protocol error.
            let third = try PartialArea(inbox: inbox, sender: Self.sender)
            let summary = OfferSummary(senderName: "s", fileCount: 2, directoryCount: 2, symlinkCount: 0,
                                       totalBytes: 2 * Self.size, topLevelNames: ["d", "e"])
            let holdings = ResumeHoldings.find(area: third, summary: summary)
            #expect(holdings.partial.count == 2)
            let failing = OfferWriter(inbox: inbox, transferID: "t3", area: third, holdings: holdings)
            try failing.begin(try makeEntry(.directory, "d"))
            try failing.begin(try makeEntry(.file, "d/a", size: Self.size), resumeFrom: 4)
            try failing.write([9, 9])
            failing.abort(keepPartial: false)
            third.close()

            let left = namesIn(root + "/inbox/.peershare-partial")
            #expect(!left.contains(partA), "the .part the failed session was writing is removed, held bytes and all")
            #expect(left.contains(partB), "a .part the failed session never took up stays")
        }
    }
}
