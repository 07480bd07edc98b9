import Testing
@testable import PeershareCore

/// The stream message codec: round trips, exact layouts and every rejection path
/// (hostile-inputs.md items 19, 20, 23).
@Suite("Wire codec")
struct WireCodecTests {
    @Test("every message type round-trips through both decode overloads")
    func roundTrip() throws {
        for message in try WireSamples.messages() {
            let bytes = message.encode()
            #expect(bytes.first == message.type)
            #expect(try StreamMessage.decode(bytes) == message)
            let viaPointer = try bytes.withUnsafeBytes { raw in try StreamMessage.decode(raw) }
            #expect(viaPointer == message)
            var appended: [UInt8] = [0xEE]
            message.encode(into: &appended)
            #expect(appended == [0xEE] + bytes)
        }
    }

    @Test("exact byte layouts")
    func layouts() throws {
        #expect(StreamMessage.accept(receiverName: "").encode() == [0x02, 0x00])
        #expect(StreamMessage.accept(receiverName: "bob").encode() == [0x02, 0x03, 0x62, 0x6F, 0x62])
        #expect(StreamMessage.refuse(.noSpace, "hi").encode() == [0x03, 2, 2, 0x68, 0x69])
        #expect(StreamMessage.data([9, 8]).encode() == [0x05, 9, 8])
        #expect(StreamMessage.hole(300).encode() == [0x06, 0xAC, 0x02])
        #expect(StreamMessage.end(files: 1, bytes: 128).encode() == [0x07, 1, 0x80, 0x01])
        #expect(StreamMessage.done(files: 0, bytes: 1).encode() == [0x08, 0, 1])
        #expect(StreamMessage.failure(.tooLarge, "").encode() == [0x09, 5, 0])
        let entry = Entry(kind: .file, path: try WireSamples.path("a/b"), size: 5, mode: 0o644,
                          mtimeSeconds: -1, mtimeNanoseconds: 2)
        #expect(StreamMessage.entry(entry).encode() == [0x04, 1, 3, 0x61, 0x2F, 0x62, 0xA4, 0x03, 0x01, 0x02, 0x05])
        let link = try WireSamples.symlink("t/l", to: "x")
        #expect(StreamMessage.entry(link).encode() == [0x04, 3, 3, 0x74, 0x2F, 0x6C, 0xFF, 0x03, 0x00, 0x00, 1, 0x78])
        let summary = OfferSummary(senderName: "A", fileCount: 1, directoryCount: 2, symlinkCount: 3,
                                   totalBytes: 4, topLevelNames: ["x"], moreTopLevelNames: 0)
        #expect(summary.encode() == [1, 0x41, 1, 2, 3, 4, 1, 1, 0x78, 0])
        #expect(StreamMessage.offer(summary).encode() == [0x01] + summary.encode())
    }

    @Test("every truncation of every message throws instead of crashing")
    func truncation() throws {
        // A prefix of DATA is a shorter valid DATA message, so DATA is left out.
        for message in try WireSamples.messages() where message.type != StreamMessage.dataType {
            let bytes = message.encode()
            for length in 0..<bytes.count {
                #expect(throws: WireError.self) { try StreamMessage.decode(Array(bytes[..<length])) }
            }
        }
    }

    static let malformed: [(bytes: [UInt8], error: WireError)] = [
        ([], .emptyMessage),
        ([0x00], .unknownMessageType(0x00)),
        ([0x0A], .unknownMessageType(0x0A)),
        ([0xFF, 1, 2], .unknownMessageType(0xFF)),
        ([0x02, 0x00, 0x00], .trailingBytes(count: 1)),
        ([0x02, 0x01, 0x1B], .invalidText(field: "receiverName")),
        ([0x07, 1, 1, 9, 9], .trailingBytes(count: 2)),
        ([0x03, 9, 0], .unknownRefusalReason(9)),
        ([0x03, 0, 0], .unknownRefusalReason(0)),
        ([0x09, 8, 0], .unknownFailureCode(8)),
        ([0x03, 1, 5, 0x61, 0x62], .truncated(field: "message")),
        ([0x03, 1, 0x81, 0x08], .fieldTooLong(field: "message", length: 1025, limit: 1024)),
        ([0x03, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
         .fieldTooLong(field: "message", length: UInt64.max, limit: 1024)),
        ([0x09, 1, 2, 0xC3, 0x28], .invalidUTF8(field: "message")),
        ([0x05], .emptyData),
        ([0x06, 0], .emptyData),
        ([0x06, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], .valueOutOfRange(field: "hole", value: 1 << 63)),
        ([0x04, 4, 1, 0x78, 0, 0, 0], .unknownEntryKind(4)),
        ([0x04, 0, 1, 0x78, 0, 0, 0], .unknownEntryKind(0)),
        ([0x04, 2, 4, 0x2E, 0x2E, 0x2F, 0x78, 0, 0, 0], .invalidPath(.dotComponent("../x"))),
        ([0x04, 2, 2, 0x2F, 0x78, 0, 0, 0], .invalidPath(.absolute("/x"))),
        ([0x04, 2, 3, 0x61, 0x1B, 0x62, 0, 0, 0], .invalidPath(.controlCharacter("a\u{1B}b"))),
        ([0x04, 2, 1, 0xFF, 0, 0, 0], .invalidUTF8(field: "path")),
        ([0x04, 2, 1, 0x78, 0x80, 0x20, 0, 0], .valueOutOfRange(field: "mode", value: 0o10000)),
        ([0x04, 2, 1, 0x78, 0, 0, 0x80, 0x94, 0xEB, 0xDC, 0x03], .valueOutOfRange(field: "mtimeNanoseconds", value: 1_000_000_000)),
        ([0x04, 1, 1, 0x78, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],
         .valueOutOfRange(field: "size", value: UInt64(Int64.max))),
        ([0x04, 3, 3, 0x74, 0x2F, 0x6C, 0, 0, 0, 2, 0x2F, 0x78], .invalidSymlinkTarget(.symlinkAbsolute("/x"))),
        ([0x04, 3, 1, 0x6C, 0, 0, 0, 1, 0x78], .invalidSymlinkTarget(.symlinkTopLevel("l"))),
        ([0x04, 3, 3, 0x74, 0x2F, 0x6C, 0, 0, 0, 5, 0x2E, 0x2E, 0x2F, 0x2E, 0x2E],
         .invalidSymlinkTarget(.symlinkEscapes("../.."))),
        ([0x04, 2, 0x81, 0x20], .fieldTooLong(field: "path", length: 4097, limit: 4096)),
    ]

    @Test("malformed messages are rejected with the specific error", arguments: malformed)
    func rejects(bytes: [UInt8], error: WireError) {
        #expect(throws: error) { try StreamMessage.decode(bytes) }
    }

    @Test("oversize messages are rejected before decoding")
    func oversize() {
        let data = [StreamMessage.dataType] + [UInt8](repeating: 1, count: WireLimits.maxChunk + 1)
        #expect(throws: WireError.messageTooLarge(length: WireLimits.maxStreamMessage + 1, limit: WireLimits.maxStreamMessage)) {
            try StreamMessage.decode(data)
        }
        #expect(throws: WireError.messageTooLarge(length: 65_537, limit: 65_536)) {
            try OfferSummary.decode([UInt8](repeating: 0, count: 65_537))
        }
    }

    @Test("free text is cut on a character boundary when encoding, so the peer accepts it")
    func textTruncation() throws {
        let long = String(repeating: "é", count: 600) // 1200 bytes
        let decoded = try StreamMessage.decode(StreamMessage.failure(.ioError, long).encode())
        guard case .failure(.ioError, let text) = decoded else {
            Issue.record("wrong message \(decoded)")
            return
        }
        #expect(text == String(repeating: "é", count: 512))
        let summary = OfferSummary(senderName: String(repeating: "ß", count: 40), fileCount: 0, directoryCount: 0,
                                   symlinkCount: 0, totalBytes: 0, topLevelNames: [])
        #expect(try OfferSummary.decode(summary.encode()).senderName == String(repeating: "ß", count: 32))
    }

    @Test("limits as documented")
    func limits() {
        #expect(WireLimits.maxStreamMessage == 262_145)
        #expect(WireLimits.maxStreamFrame == 262_162)
        #expect(WireLimits.maxTotalBytes == 4_611_686_018_427_387_904)
    }
}
