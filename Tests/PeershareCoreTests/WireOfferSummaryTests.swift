import Testing
@testable import PeershareCore

/// Offer summary validation: the only peer text a person sees before accepting.
@Suite("Offer summary")
struct WireOfferSummaryTests {
    static func bytes(name: String = "A", files: UInt64 = 1, dirs: UInt64 = 0, links: UInt64 = 0,
                      total: UInt64 = 0, names: [String] = ["x"], more: UInt64 = 0) -> [UInt8] {
        var w = WireWriter()
        w.writeString(name)
        w.writeVarint(files)
        w.writeVarint(dirs)
        w.writeVarint(links)
        w.writeVarint(total)
        w.writeVarint(UInt64(names.count))
        for n in names { w.writeString(n) }
        w.writeVarint(more)
        return w.bytes
    }

    static let rejected: [(bytes: [UInt8], error: WireError)] = [
        (bytes(name: "evil\u{1B}[2J"), .invalidText(field: "senderName")),
        (bytes(name: "a\u{202E}b"), .invalidText(field: "senderName")),
        (bytes(name: String(repeating: "a", count: 65)), .fieldTooLong(field: "senderName", length: 65, limit: 64)),
        (bytes(files: 1_000_001), .valueOutOfRange(field: "fileCount", value: 1_000_001)),
        (bytes(files: 600_000, dirs: 400_000, links: 1), .valueOutOfRange(field: "entryCount", value: 1_000_001)),
        (bytes(total: (1 << 62) + 1), .valueOutOfRange(field: "totalBytes", value: (1 << 62) + 1)),
        (bytes(total: UInt64(Int64.max)), .valueOutOfRange(field: "totalBytes", value: UInt64(Int64.max))),
        (bytes(files: 40, names: (0..<33).map { "n\($0)" }), .valueOutOfRange(field: "topLevelNames.count", value: 33)),
        (bytes(names: ["a/b"]), .invalidPath(.separatorInComponent("a/b"))),
        (bytes(names: [".."]), .invalidPath(.dotComponent(".."))),
        (bytes(names: [""]), .invalidPath(.empty)),
        (bytes(names: ["a\u{0}"]), .invalidPath(.nul("a\u{0}"))),
        (bytes(files: 2, names: ["caf\u{E9}", "cafe\u{301}"]), .duplicateTopLevelName("cafe\u{301}")),
        (bytes(files: 5, names: ["a"], more: 1), .valueOutOfRange(field: "moreTopLevelNames", value: 1)),
        (bytes(files: 1, names: ["a", "b"]), .valueOutOfRange(field: "topLevelNames.total", value: 2)),
        (bytes() + [0], .trailingBytes(count: 1)),
    ]

    @Test("invalid summaries are rejected", arguments: rejected)
    func rejects(bytes: [UInt8], error: WireError) {
        #expect(throws: error) { try OfferSummary.decode(bytes) }
    }

    @Test("a valid summary decodes to what was encoded")
    func accepts() throws {
        let names = (0..<32).map { "name \($0)" }
        let summary = OfferSummary(senderName: "Zoë’s phone", fileCount: 900, directoryCount: 50, symlinkCount: 50,
                                   totalBytes: 123_456_789, topLevelNames: names, moreTopLevelNames: 8)
        #expect(try OfferSummary.decode(summary.encode()) == summary)
        #expect(summary.entryCount == 1000)
        #expect(!summary.listsAllTopLevelNames)
    }
}
