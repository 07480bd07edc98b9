import PeershareCore
import SodiumKit
import Testing

/// docs/vectors/stream-messages.json and offer-summary.json: every stream message type's
/// encoding (BATCH with a HOLE included) and messages a receiver must refuse.
@Suite("Conformance vectors: stream messages")
struct ConformanceWireVectorTests {
    struct MessageCase: Codable, Equatable {
        var name: String
        var meaning: String
        var hex: String
    }

    struct MessagesVector: Codable {
        var description: String
        var valid: [MessageCase]
        var invalid: [MessageCase]
    }

    /// The summary of the first-contact example: one 6-byte file `hello.txt` from "alice".
    static let firstContactSummary = OfferSummary(senderName: "alice", fileCount: 1, directoryCount: 0, symlinkCount: 0,
                                                  totalBytes: 6, topLevelNames: ["hello.txt"])

    static func entry(_ kind: EntryKind, _ path: String, size: UInt64 = 0, mode: UInt32, seconds: Int64 = 0,
                      nanoseconds: UInt32 = 0, target: String? = nil) throws -> Entry {
        Entry(kind: kind, path: try RelativePath(validating: path), size: size, mode: mode, mtimeSeconds: seconds,
              mtimeNanoseconds: nanoseconds, linkTarget: target)
    }

    /// Every message a conforming peer must encode exactly so.
    static func validMessages() throws -> [(name: String, meaning: String, message: StreamMessage)] {
        let key = [UInt8](repeating: 0x11, count: 16), other = [UInt8](repeating: 0x22, count: 16)
        return [
            ("OFFER", "sender alice, 1 file, 0 directories, 0 symlinks, 6 bytes, top-level names [hello.txt], 0 more",
             .offer(firstContactSummary)),
            ("ACCEPT", "receiver name \"bob\"", .accept(receiverName: "bob")),
            ("REFUSE", "reason 1 (declined), message \"no\"", .refuse(.declined, "no")),
            ("ENTRY file", "file hello.txt, mode 0o644, mtime 1700000000 s + 5 ns, size 6",
             .entry(try entry(.file, "hello.txt", size: 6, mode: 0o644, seconds: 1_700_000_000, nanoseconds: 5))),
            ("ENTRY file, negative mtime", "file a/b, mode 0o644, mtime -1 s + 2 ns, size 5",
             .entry(try entry(.file, "a/b", size: 5, mode: 0o644, seconds: -1, nanoseconds: 2))),
            ("ENTRY directory", "directory photos, mode 0o755, mtime 0", .entry(try entry(.directory, "photos", mode: 0o755))),
            ("ENTRY symlink", "symlink photos/latest -> raw/b.raw, mode 0o777, mtime 0",
             .entry(try entry(.symlink, "photos/latest", mode: 0o777, target: "raw/b.raw"))),
            ("DATA", "the 6 bytes \"hello\\n\"", .data(Array("hello\n".utf8))),
            ("HOLE", "300 zero bytes, not sent", .hole(300)),
            ("END", "files 1, bytes 6 (files only: directories and symlinks are not counted)", .end(files: 1, bytes: 6)),
            ("DONE", "files 1, bytes 6", .done(files: 1, bytes: 6)),
            ("FAILURE", "code 1 (protocol violation), message \"bad\"", .failure(.protocolViolation, "bad")),
            ("HOLDING empty", "last = 1, no records: the receiver holds nothing", .holding(last: true, records: [])),
            ("HOLDING", "last = 1; complete record, key 11×16; partial record, key 22×16, held 300, prefix hash 33×32",
             .holding(last: true, records: [.complete(key: key),
                                            .partial(key: other, heldBytes: 300, prefixHash: [UInt8](repeating: 0x33, count: 32))])),
            ("RESUME", "offset 300", .resume(offset: 300)),
        ]
    }

    /// BATCH examples: the items, and the sequence they must be accepted in.
    static func validBatches() throws -> [(name: String, meaning: String, items: [StreamMessage])] {
        [
            ("BATCH with a HOLE", "ENTRY file a (mode 0o644, mtime 0, size 300), then HOLE 300: the whole file is a hole",
             [.entry(try entry(.file, "a", size: 300, mode: 0o644)), .hole(300)]),
            ("BATCH with DATA", "ENTRY file b (mode 0o600, mtime 0, size 3), DATA \"xyz\", ENTRY file c (size 0)",
             [.entry(try entry(.file, "b", size: 3, mode: 0o600)), .data(Array("xyz".utf8)),
              .entry(try entry(.file, "c", mode: 0o600))]),
        ]
    }

    /// Bytes a receiver must refuse when they arrive as one stream message.
    static let invalidMessages: [(name: String, meaning: String, hex: String)] = [
        ("unknown type 0x0A", "types are hexadecimal: 0x0A..0x0F and 0x13.. are unknown", "0a"),
        ("unknown type 0x13", "one past BATCH", "13"),
        ("trailing byte", "END followed by one byte too many", "07010600"),
        ("OFFER with a trailing field", "a 1.0 receiver tolerates no extra field after moreTopLevelNames", "01" + "05616c696365" + "01000006" + "01" + "0968656c6c6f2e747874" + "00" + "00"),
        ("varint not shortest", "HOLE length 1 written as 81 00", "068100"),
        ("HOLE of 0", "a hole is 1 to 2^62 bytes", "0600"),
        ("DATA without bytes", "a DATA message carries at least one byte", "05"),
        ("RESUME 0", "an offset is 1 to 2^62", "1100"),
        ("BATCH on its own path", "decoded as a single message, a BATCH is refused: only the stream loop takes it apart", "12000000020600"),
    ]

    /// BATCH bodies a receiver must refuse.
    static let invalidBatches: [(name: String, meaning: String, hex: String)] = [
        ("empty BATCH", "a BATCH carries at least one item", "12"),
        ("BATCH item of length 0", "every item is at least 1 byte", "1200000000"),
        ("BATCH item past the end", "the length says 9, 2 bytes follow", "12000000090600"),
        ("BATCH holding END", "only ENTRY, DATA and HOLE may be items", "1200000003070106"),
        ("BATCH holding a BATCH", "no nesting", "1200000006" + "1200000001" + "05"),
        ("BATCH with an empty DATA item", "DATA carries at least one byte", "120000000105"),
    ]

    static func batchBytes(_ items: [StreamMessage]) -> [UInt8] {
        WireBatchTests.build { writer in
            for item in items {
                if case .data(let bytes) = item {
                    _ = writer.appendData(maxCount: bytes.count) { buffer in
                        buffer.copyBytes(from: bytes)
                        return bytes.count
                    }
                } else {
                    WireBatchTests.append(item, to: &writer)
                }
            }
        }
    }

    static func computedMessages() throws -> MessagesVector {
        var valid = try validMessages().map { MessageCase(name: $0.name, meaning: $0.meaning, hex: hex($0.message.encode())) }
        valid += try validBatches().map { MessageCase(name: $0.name, meaning: $0.meaning, hex: hex(batchBytes($0.items))) }
        let invalid = (invalidMessages + invalidBatches).map { MessageCase(name: $0.name, meaning: $0.meaning, hex: $0.hex) }
        return MessagesVector(description: "Stream messages (the plaintext of one secretstream message: type byte, then body). valid: encode exactly so. invalid: a receiver refuses each (FAILURE protocol violation, or the session ends).",
                              valid: valid, invalid: invalid)
    }

    @Test func everyMessageEncodesAndDecodesAsTheVector() throws {
        let computed = try Self.computedMessages()
        let vector: MessagesVector = try VectorFiles.load("stream-messages.json", computed: computed)
        #expect(vector.valid == computed.valid)
        #expect(vector.invalid == computed.invalid)
        for (name, _, message) in try Self.validMessages() {
            let bytes = try hexBytes(try #require(vector.valid.first { $0.name == name }).hex)
            #expect(try StreamMessage.decode(bytes) == message, "\(name)")
        }
    }

    @Test func batchesReadBackAndFollowTheGrammar() throws {
        let vector: MessagesVector = try VectorFiles.load("stream-messages.json", computed: try Self.computedMessages())
        for (name, _, items) in try Self.validBatches() {
            let bytes = try hexBytes(try #require(vector.valid.first { $0.name == name }).hex)
            let read = try WireBatchTests.read(bytes)
            #expect(read == items.map { item in
                if case .data(let data) = item { return .data(data) }
                return .message(item)
            }, "\(name)")
            let fileCount = UInt64(items.filter { if case .entry = $0 { true } else { false } }.count)
            let total = items.reduce(UInt64(0)) { sum, item in
                if case .entry(let entry) = item { return sum + entry.size }
                return sum
            }
            let names = items.compactMap { item -> String? in if case .entry(let entry) = item { entry.path.string } else { nil } }
            var accounting = EntryAccounting(summary: OfferSummary(senderName: "s", fileCount: fileCount, directoryCount: 0,
                                                                   symlinkCount: 0, totalBytes: total, topLevelNames: names))
            for item in items { _ = try accounting.accept(item) }
            _ = try accounting.accept(.end(files: fileCount, bytes: total))
        }
    }

    /// The example of the old §5 (a 300-byte HOLE in a 0-byte file) is refused.
    @Test func holeBeyondTheFileIsRefused() throws {
        var accounting = EntryAccounting(summary: OfferSummary(senderName: "s", fileCount: 1, directoryCount: 0, symlinkCount: 0,
                                                               totalBytes: 300, topLevelNames: ["a"]))
        _ = try accounting.accept(.entry(try Self.entry(.file, "a", mode: 0o644)))
        #expect(throws: WireError.self) { try accounting.accept(.hole(300)) }
    }

    @Test func everyInvalidMessageIsRefused() throws {
        let vector: MessagesVector = try VectorFiles.load("stream-messages.json", computed: try Self.computedMessages())
        let batchNames = Set(Self.invalidBatches.map(\.name))
        for invalid in vector.invalid {
            let bytes = try hexBytes(invalid.hex)
            if batchNames.contains(invalid.name) {
                #expect(throws: WireError.self, "\(invalid.name)") { try WireBatchTests.read(bytes) }
            } else {
                #expect(throws: WireError.self, "\(invalid.name)") { try StreamMessage.decode(bytes) }
            }
        }
    }
}
