/// BATCH (type 0x12, sender → receiver): several small stream messages sealed as one
/// secretstream message, so that a tree of small files costs one encryption, one frame and
/// one wake-up of the receiving task per ~256 KiB instead of two of each per file
/// (BENCHMARKS.md has the frame counts).
///
///     0x12 BATCH   one or more items, back to back, filling the message exactly; each item:
///                  length u32 big-endian (≥ 1) · an ENTRY, DATA or HOLE message of exactly
///                  that many bytes (type byte + body, as on its own)
///
/// An item is decoded exactly like the same message on its own (same caps, same checks,
/// no trailing bytes), and then obeys the same stream grammar; a batch never carries
/// TAG_FINAL, and no item may be a BATCH, OFFER, END or any other type. A batch is bounded
/// by `WireLimits.maxStreamMessage` like every stream message, so it allocates nothing.
public enum StreamBatch {
    /// Bytes before each item: its length, u32 big-endian.
    public static let itemHeaderBytes = 4
    /// Largest item the sender puts in a batch: bigger DATA goes as its own message, where
    /// batching saves nothing (one 64 KiB file already fills a quarter of a batch).
    public static let maxBatchedItem = 64 * 1024 + 1

    /// One item of a batch.
    public enum Item {
        /// File bytes (a DATA item without its type byte), pointing into the batch.
        case data(UnsafeRawBufferPointer)
        /// An ENTRY or HOLE item, decoded.
        case message(StreamMessage)
    }

    /// Reads the items of one BATCH body (the bytes after the type byte), which it borrows:
    /// use it only while that buffer is valid.
    public struct Reader {
        private var reader: WireReader

        /// An empty body is an error: a BATCH carries at least one item.
        public init(body: UnsafeRawBufferPointer) throws(WireError) {
            if body.isEmpty { throw .emptyBatch }
            reader = WireReader(body)
        }

        /// The next item, or nil after the last one. A length of 0 or past the end of the
        /// batch, an item type other than ENTRY, DATA or HOLE, an empty DATA and any item
        /// that does not decode are errors.
        public mutating func next() throws(WireError) -> Item? {
            if reader.remaining == 0 { return nil }
            let header = try reader.readBytes(StreamBatch.itemHeaderBytes, field: "batch item length")
            let length = header.reduce(0) { ($0 << 8) | Int($1) }
            if length == 0 { throw .emptyMessage }
            let item = try reader.readBytes(length, field: "batch item")
            switch item[0] {
            case StreamMessage.dataType:
                if item.count == 1 { throw .emptyData }
                return .data(UnsafeRawBufferPointer(rebasing: item[1...]))
            case StreamMessage.entryType, StreamMessage.holeType:
                return .message(try StreamMessage.decode(item))
            default:
                throw .notAllowedInBatch(item[0])
            }
        }
    }

    /// Builds one BATCH message in a caller's buffer (the sender's plaintext buffer, at most
    /// `WireLimits.maxStreamMessage` bytes), item by item, without allocating.
    public struct Writer {
        private let buffer: UnsafeMutableRawBufferPointer
        /// Bytes used, the type byte included; 0 while no item was added.
        public private(set) var count = 0

        public init(buffer: UnsafeMutableRawBufferPointer) {
            precondition(buffer.count > 1 + StreamBatch.itemHeaderBytes, "a batch buffer holds at least one item")
            self.buffer = buffer
        }

        /// True while no item was added.
        public var isEmpty: Bool { count == 0 }

        /// The most bytes an item (type byte included) added now can have.
        public var room: Int { buffer.count - max(count, 1) - StreamBatch.itemHeaderBytes }

        /// The batch so far: type byte and items. Valid until the next change to the buffer.
        public var message: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buffer[0..<count]) }

        /// Starts over (after the batch was sealed).
        public mutating func reset() { count = 0 }

        /// Adds `item` (a whole ENTRY or HOLE message, type byte included) if it fits in
        /// `room`; returns false, changing nothing, if not.
        public mutating func append(_ item: UnsafeRawBufferPointer) -> Bool {
            guard !item.isEmpty, item.count <= room else { return false }
            let start = beginItem()
            UnsafeMutableRawBufferPointer(rebasing: buffer[start..<(start + item.count)]).copyMemory(from: item)
            finishItem(at: start, length: item.count)
            return true
        }

        /// Adds a DATA item whose file bytes `fill` writes into the buffer it is given (at
        /// most `maxCount`, which must fit: `maxCount + 1 <= room`), returning how many.
        /// Returns that count; 0 adds nothing.
        public mutating func appendData<E: Error>(maxCount: Int, _ fill: (UnsafeMutableRawBufferPointer) throws(E) -> Int) throws(E) -> Int {
            precondition(maxCount > 0 && maxCount + 1 <= room, "DATA item does not fit the batch")
            let start = beginItem()
            buffer[start] = StreamMessage.dataType
            let payload = UnsafeMutableRawBufferPointer(rebasing: buffer[(start + 1)..<(start + 1 + maxCount)])
            let written = try fill(payload)
            guard written > 0 else {
                if count == 1 { count = 0 }  // nothing was added: the batch stays empty
                return 0
            }
            precondition(written <= maxCount, "fill wrote more than it was given")
            finishItem(at: start, length: written + 1)
            return written
        }

        /// Writes the type byte for the first item, and returns where the next item's type
        /// byte goes (after its length, written by `finishItem`).
        private mutating func beginItem() -> Int {
            if count == 0 {
                buffer[0] = StreamMessage.batchType
                count = 1
            }
            return count + StreamBatch.itemHeaderBytes
        }

        private mutating func finishItem(at start: Int, length: Int) {
            let header = start - StreamBatch.itemHeaderBytes
            buffer[header] = UInt8(truncatingIfNeeded: length >> 24)
            buffer[header + 1] = UInt8(truncatingIfNeeded: length >> 16)
            buffer[header + 2] = UInt8(truncatingIfNeeded: length >> 8)
            buffer[header + 3] = UInt8(truncatingIfNeeded: length)
            count = start + length
        }
    }
}
