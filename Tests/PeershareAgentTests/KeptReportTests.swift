@testable import PeershareTransfer
import Testing

/// The sentence a failed incoming transfer ends with, and how it joins the cause.
@Suite("Kept report")
struct KeptReportTests {
    @Test("Nothing kept: a small unfinished file is named as not kept, and no resume is promised")
    func nothingKept() {
        let small = KeptReport(completeFiles: 0, topLevelNames: ["a.txt"], unfinished: UnfinishedFile(placedPath: "a.txt", keptBytes: nil))
        #expect(small.sentence == "Nothing was kept (the unfinished a.txt was not); sending again starts over.")
        #expect(KeptReport(completeFiles: 0, topLevelNames: [], unfinished: nil).sentence == "Nothing was kept; sending again starts over.")
    }

    @Test("Complete files and a kept part are both named; a removed unfinished file is named too")
    func somethingKept() {
        let both = KeptReport(completeFiles: 2, topLevelNames: ["docs"], unfinished: UnfinishedFile(placedPath: "docs/big.bin", keptBytes: 3 << 20))
        #expect(both.sentence == "Kept: 2 complete file(s) in docs and the first 3.0 MiB of docs/big.bin; sending again sends only the rest.")
        let removed = KeptReport(completeFiles: 1, topLevelNames: ["d\u{1B}x"], unfinished: UnfinishedFile(placedPath: "d\u{1B}x/s.txt", keptBytes: nil))
        #expect(removed.sentence == "Kept: 1 complete file(s) in d\\x1Bx; the unfinished d\\x1Bx/s.txt was not; sending again sends only the rest.")
    }

    @Test("After a failure that drops the claims, complete files stay but no resume is promised")
    func keptWithoutResume() {
        let report = KeptReport(completeFiles: 2, topLevelNames: ["docs (3)"],
                                unfinished: UnfinishedFile(placedPath: "docs (3)/sub/e", keptBytes: nil), resumable: false)
        #expect(report.sentence == "Kept: 2 complete file(s) in docs (3); the unfinished docs (3)/sub/e was not; sending again sends everything, under a new name.")
    }

    @Test("A cause that does not end a sentence gets a full stop before the next one")
    func sentencesDoNotRunTogether() {
        let cause = AgentError(.io, "cannot create 'docs/x': Not a directory")
        #expect(cause.appending(sentence: "Nothing was kept.").message == "cannot create 'docs/x': Not a directory. Nothing was kept.")
        #expect(AgentError(.io, "Stalled (network cut?).").appending(sentence: "Kept: x.").message == "Stalled (network cut?). Kept: x.")
        #expect(AgentError(.io, "x").appending(sentence: "").message == "x")
        #expect(cause.appending(sentence: "y").kind == .io)
    }
}
