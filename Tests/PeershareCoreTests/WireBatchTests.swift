import Testing
@testable import PeershareCore

/// BATCH (0x12): the writer's exact layout, round trips through the reader, and every way a
/// batch from a peer can lie (lengths, truncation, forbidden or malformed items).
@Suite("Wire batch")
struct WireBatchTests {
    /// A batch built by `StreamBatch.Writer` in a buffer of `capacity` bytes.
    static func build(capacity: Int = WireLimits.maxStreamMessage,
                      _ body: (inout StreamBatch.Writer) throws -> Void) rethrows -> [UInt8] {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        defer { buffer.deallocate() }
        var writer = StreamBatch.Writer(buffer: buffer)
        try body(&writer)
        return Array(writer.message)
    }

    /// Appends an encoded message; records an issue if it did not fit.
    static func append(_ message: StreamMessage, to writer: inout StreamBatch.Writer) {
        let added = message.encode().withUnsafeBytes { writer.append($0) }
        #expect(added, "\(message.name) did not fit")
    }

    enum Read: Equatable {
        case data([UInt8])
        case message(StreamMessage)
    }

    /// Every item of a whole BATCH message (type byte included).
    static func read(_ batch: [UInt8]) throws(WireError) -> [Read] {
        let result: Result<[Read], WireError> = batch.withUnsafeBytes { raw in
            do throws(WireError) {
                #expect(raw.first == StreamMessage.batchType)
                var reader = try StreamBatch.Reader(body: UnsafeRawBufferPointer(rebasing: raw[1...]))
                var items: [Read] = []
                while let item = try reader.next() {
                    switch item {
                    case .data(let bytes): items.append(.data(Array(bytes)))
                    case .message(let message): items.append(.message(message))
                    }
                }
                return .success(items)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// A BATCH written byte by byte: type, then each item after its u32 length as given.
    static func raw(_ items: [(length: UInt32, bytes: [UInt8])]) -> [UInt8] {
        var out: [UInt8] = [StreamMessage.batchType]
        for item in items {
            out += [UInt8(item.length >> 24), UInt8(item.length >> 16 & 0xFF), UInt8(item.length >> 8 & 0xFF), UInt8(item.length & 0xFF)]
            out += item.bytes
        }
        return out
    }

    static func raw(items: [[UInt8]]) -> [UInt8] { raw(items.map { (UInt32($0.count), $0) }) }

    @Test("exact byte layout: type 0x12, then each item after its u32 big-endian length")
    func layout() throws {
        let entry = try WireSamples.file("a/b", size: 2)
        let batch = Self.build { writer in
            Self.append(.entry(entry), to: &writer)
            let written = writer.appendData(maxCount: 2) { buffer in
                buffer[0] = 0xAB
                buffer[1] = 0xCD
                return 2
            }
            #expect(written == 2)
            Self.append(.hole(300), to: &writer)
        }
        let entryBytes = StreamMessage.entry(entry).encode()
        #expect(batch == [0x12, 0, 0, 0, UInt8(entryBytes.count)] + entryBytes
            + [0, 0, 0, 3, 0x05, 0xAB, 0xCD]
            + [0, 0, 0, 3, 0x06, 0xAC, 0x02])
        #expect(try Self.read(batch) == [.message(.entry(entry)), .data([0xAB, 0xCD]), .message(.hole(300))])
    }

    @Test("the example in docs/PROTOCOL.md")
    func documentedExample() throws {
        let empty = Entry(kind: .file, path: try WireSamples.path("a"), size: 0, mode: 0o644, mtimeSeconds: 0)
        let batch = Self.build { writer in
            Self.append(.entry(empty), to: &writer)
            Self.append(.hole(300), to: &writer)
        }
        #expect(batch == [0x12, 0x00, 0x00, 0x00, 0x09, 0x04, 0x01, 0x01, 0x61, 0xA4, 0x03, 0x00, 0x00, 0x00,
                          0x00, 0x00, 0x00, 0x03, 0x06, 0xAC, 0x02])
    }

    @Test("a tree of small files round-trips through the writer and the reader")
    func roundTrip() throws {
        var expected: [Read] = [.message(.entry(try WireSamples.directory("top")))]
        for index in 0..<40 {
            let content = (0..<(index * 37 + 1)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ index) }
            expected.append(.message(.entry(try WireSamples.file("top/f\(index)", size: UInt64(content.count)))))
            expected.append(.data(content))
        }
        expected.append(.message(.entry(try WireSamples.symlink("top/l", to: "f1"))))
        let batch = Self.build { writer in
            for item in expected {
                switch item {
                case .message(let message): Self.append(message, to: &writer)
                case .data(let content):
                    let written = writer.appendData(maxCount: content.count) { buffer in
                        buffer.copyBytes(from: content)
                        return content.count
                    }
                    #expect(written == content.count)
                }
            }
        }
        #expect(try Self.read(batch) == expected)
    }

    @Test("the writer refuses what does not fit, and an empty fill adds nothing")
    func writerLimits() throws {
        let capacity = 64
        let entry = StreamMessage.entry(try WireSamples.file("a/b", size: 1)).encode()
        let batch = Self.build(capacity: capacity) { writer in
            #expect(writer.isEmpty)
            #expect(writer.room == capacity - 1 - StreamBatch.itemHeaderBytes)
            let nothing = writer.appendData(maxCount: 8) { _ in 0 }
            #expect(nothing == 0)
            #expect(writer.isEmpty, "an empty DATA fill must leave the batch empty")
            let tooBig = [UInt8](repeating: 0x04, count: writer.room + 1)
            #expect(!tooBig.withUnsafeBytes { writer.append($0) })
            #expect(writer.isEmpty)
            #expect(entry.withUnsafeBytes { writer.append($0) })
            #expect(writer.count == 1 + StreamBatch.itemHeaderBytes + entry.count)
            #expect(writer.room == capacity - writer.count - StreamBatch.itemHeaderBytes)
            let exact = writer.appendData(maxCount: writer.room - 1) { buffer in
                buffer.initializeMemory(as: UInt8.self, repeating: 0x5A)
                return buffer.count
            }
            #expect(exact > 0)
            #expect(writer.count == capacity)
            #expect(!entry.withUnsafeBytes { writer.append($0) })
        }
        #expect(batch.count == capacity)
        #expect(try Self.read(batch).count == 2)
        let reused = Self.build(capacity: capacity) { writer in
            #expect(entry.withUnsafeBytes { writer.append($0) })
            writer.reset()
            #expect(writer.isEmpty)
            #expect(writer.message.isEmpty)
            Self.append(.hole(1), to: &writer)
        }
        #expect(reused == [0x12, 0, 0, 0, 2, 0x06, 0x01])
    }

    static let malformed: [(label: String, batch: [UInt8], error: WireError)] = {
        let entry = BatchRaw.file("a/b", size: 3)
        return [
            ("no item at all", [0x12], .emptyBatch),
            ("an item of length 0", raw([(0, [])]), .emptyMessage),
            ("an item length past the end", raw([(UInt32(entry.count + 1), entry)]), .truncated(field: "batch item")),
            ("an item length of 2^32-1", raw([(UInt32.max, entry)]), .truncated(field: "batch item")),
            ("a cut length (2 of 4 bytes)", [0x12, 0, 0], .truncated(field: "batch item length")),
            ("a cut length after a good item", raw(items: [entry]) + [0, 0, 0], .truncated(field: "batch item length")),
            ("a DATA item without bytes", raw(items: [[0x05]]), .emptyData),
            ("a BATCH inside a BATCH", raw(items: [raw(items: [entry])]), .notAllowedInBatch(0x12)),
            ("a HOLDING item", raw(items: [[0x10, 1, 0]]), .notAllowedInBatch(0x10)),
            ("a RESUME item", raw(items: [[0x11, 1]]), .notAllowedInBatch(0x11)),
            ("an OFFER item", raw(items: [[0x01] + BatchRaw.summary(files: 1, total: 0, names: [Array("a".utf8)])]), .notAllowedInBatch(0x01)),
            ("an END item", raw(items: [[0x07, 0, 0]]), .notAllowedInBatch(0x07)),
            ("a FAILURE item", raw(items: [[0x09, 1, 0]]), .notAllowedInBatch(0x09)),
            ("a DONE item", raw(items: [[0x08, 0, 0]]), .notAllowedInBatch(0x08)),
            ("an unknown item type", raw(items: [[0x0A, 1]]), .notAllowedInBatch(0x0A)),
            ("an ENTRY item with a trailing byte", raw(items: [entry + [0]]), .trailingBytes(count: 1)),
            ("an ENTRY item cut short", raw(items: [Array(entry.dropLast())]), .truncated(field: "size")),
            ("an ENTRY item with an empty HOLE after it", raw(items: [entry, [0x06, 0]]), .emptyData),
            ("an ENTRY item with a bad path", raw(items: [BatchRaw.file("../x", size: 1)]), .invalidPath(.dotComponent("../x"))),
        ]
    }()

    @Test("malformed batches are refused with the exact reason", arguments: 0..<17)
    func malformedBatch(_ index: Int) {
        let bad = Self.malformed[index]
        #expect(throws: bad.error, "\(bad.label)") { try Self.read(bad.batch) }
    }

    @Test("every truncation of a valid batch is refused or reads as a shorter valid batch")
    func truncation() throws {
        let batch = Self.raw(items: [BatchRaw.file("a/b", size: 3), [0x05, 1, 2, 3], BatchRaw.file("a/c", size: 0)])
        let whole = try Self.read(batch)
        #expect(whole.count == 3)
        // Cutting anywhere inside an item must throw; cutting exactly between items gives a
        // batch of the first items (the stream grammar above then finds what is missing).
        let first = BatchRaw.file("a/b", size: 3).count
        let boundaries: Set<Int> = [1 + 4 + first, 1 + 4 + first + 4 + 4]
        for length in 1..<batch.count {
            let cut = Array(batch[..<length])
            if boundaries.contains(length) {
                #expect(try Self.read(cut).count < whole.count)
            } else {
                #expect(throws: WireError.self, "cut at \(length)") { try Self.read(cut) }
            }
        }
    }

    @Test("StreamMessage.decode refuses a BATCH: only the receiver's stream loop takes one apart")
    func decodeRefusesBatch() {
        #expect(throws: WireError.unexpectedMessage(received: "batch", expected: "a single message")) {
            try StreamMessage.decode(Self.raw(items: [BatchRaw.file("a", size: 0)]))
        }
        #expect(StreamMessage.name(ofType: StreamMessage.batchType) == "batch")
    }

    /// Every mutated BATCH is either read whole or refused with a `WireError`; what is read
    /// never holds more payload than the BATCH had bytes, and reading it again gives the same.
    @Test("random bytes after the BATCH type byte never crash the reader, and what it reads fits in the batch")
    func fuzz() {
        var random = SplitMix64(seed: 0xBA7C4)
        let seeds = [Self.raw(items: [BatchRaw.file("a/b", size: 3), [0x05, 1, 2, 3]]), Self.raw(items: [[0x06, 0x05]])]
        for round in 0..<3000 {
            var bytes = seeds[round % seeds.count]
            for _ in 0..<(1 + Int(random.next() % 4)) {
                let position = 1 + Int(random.next() % UInt64(bytes.count - 1))
                bytes[position] = UInt8(truncatingIfNeeded: random.next())
            }
            if random.next() % 4 == 0 { bytes = Array(bytes.prefix(1 + Int(random.next() % UInt64(bytes.count)))) }
            let first = Result { () throws(WireError) in try Self.read(bytes) }
            let again = Result { () throws(WireError) in try Self.read(bytes) }
            #expect(first == again, "round \(round): the reader is not deterministic")
            if case .success(let items) = first {
                let payload = items.reduce(0) { sum, item in
                    if case .data(let data) = item { return sum + data.count }
                    return sum
                }
                #expect(payload < bytes.count, "round \(round): \(payload) payload bytes from a \(bytes.count)-byte batch")
            }
        }
    }
}

/// Stream message plaintexts written byte by byte (what a peer could send), for the tests above.
enum BatchRaw {
    static func string(_ bytes: [UInt8], into writer: inout WireWriter) {
        writer.writeVarint(UInt64(bytes.count))
        writer.writeBytes(bytes)
    }

    static func file(_ path: String, size: UInt64) -> [UInt8] {
        var writer = WireWriter()
        writer.writeByte(StreamMessage.entryType)
        writer.writeByte(1)
        string(Array(path.utf8), into: &writer)
        writer.writeVarint(0o644)
        writer.writeZigzag(1_700_000_000)
        writer.writeVarint(0)
        writer.writeVarint(size)
        return writer.bytes
    }

    static func summary(files: UInt64, total: UInt64, names: [[UInt8]]) -> [UInt8] {
        var writer = WireWriter()
        string(Array("s".utf8), into: &writer)
        writer.writeVarint(files)
        writer.writeVarint(0)
        writer.writeVarint(0)
        writer.writeVarint(total)
        writer.writeVarint(UInt64(names.count))
        for name in names { string(name, into: &writer) }
        writer.writeVarint(0)
        return writer.bytes
    }
}
