import PeershareCore
import Testing

/// TEXT (protocol 1.1, capability `text`): its bytes, and the grammar that lets it stand only
/// for the one file of an offer, at exactly the offered size.
@Suite("Wire: TEXT")
struct WireTextTests {
    static func offer(files: UInt64 = 1, directories: UInt64 = 0, bytes: UInt64, names: [String] = ["message.txt"]) -> OfferSummary {
        OfferSummary(senderName: "vic", fileCount: files, directoryCount: directories, symlinkCount: 0,
                     totalBytes: bytes, topLevelNames: names)
    }

    @Test("TEXT round-trips in 1.1, up to 64 KiB; a 1.0 session, longer text or bad UTF-8 is refused")
    func codec() throws {
        for text in ["", "héllo\n", "😀\u{202E}\u{1B}[31m", String(repeating: "é", count: WireLimits.maxText / 2)] {
            let bytes = StreamMessage.text(text).encode(version: .v1_1)
            #expect(bytes[0] == 0x14)
            #expect(try StreamMessage.decode(bytes, version: .v1_1) == .text(text))
            #expect(throws: WireError.self) { try StreamMessage.decode(bytes, version: .v1_0) }
        }
        let long = StreamMessage.text(String(repeating: "a", count: WireLimits.maxText + 1)).encode(version: .v1_1)
        #expect(throws: WireError.self) { try StreamMessage.decode(long, version: .v1_1) }
        #expect(throws: WireError.self) { try StreamMessage.decode([0x14, 0x02, 0xC3, 0x28], version: .v1_1) }
    }

    @Test("TEXT stands for the offer's one file: its entry is that name and size, complete; END then matches")
    func acceptedAsTheOneFile() throws {
        var accounting = EntryAccounting(summary: Self.offer(bytes: 6))
        let entry = try accounting.text("héllo", mtimeSeconds: 1_700_000_000)
        #expect(entry.path.string == "message.txt" && entry.size == 6 && entry.kind == .file && entry.mode == 0o644)
        try accounting.end(files: 1, bytes: 6)
        var empty = EntryAccounting(summary: Self.offer(bytes: 0))
        #expect(try empty.text("", mtimeSeconds: 0).size == 0)
        try empty.end(files: 1, bytes: 0)
    }

    @Test("TEXT of the wrong length, for an offer of more than one file or a folder, after an entry, or twice is refused")
    func refused() throws {
        var wrongLength = EntryAccounting(summary: Self.offer(bytes: 7))
        #expect(throws: WireError.valueOutOfRange(field: "text", value: 6)) { try wrongLength.text("héllo", mtimeSeconds: 0) }
        var twoFiles = EntryAccounting(summary: Self.offer(files: 2, bytes: 6, names: ["a", "b"]))
        #expect(throws: WireError.self) { try twoFiles.text("héllo", mtimeSeconds: 0) }
        var folder = EntryAccounting(summary: Self.offer(directories: 1, bytes: 6, names: ["d"]))
        #expect(throws: WireError.self) { try folder.text("héllo", mtimeSeconds: 0) }
        var afterEntry = EntryAccounting(summary: Self.offer(bytes: 6))
        _ = try afterEntry.beginEntry(Entry(kind: .file, path: try RelativePath(validating: "message.txt"), size: 6, mode: 0o644, mtimeSeconds: 0))
        #expect(throws: WireError.self) { try afterEntry.text("héllo", mtimeSeconds: 0) }
        var twice = EntryAccounting(summary: Self.offer(bytes: 6))
        _ = try twice.text("héllo", mtimeSeconds: 0)
        #expect(throws: WireError.self) { try twice.text("héllo", mtimeSeconds: 0) }
    }
}
