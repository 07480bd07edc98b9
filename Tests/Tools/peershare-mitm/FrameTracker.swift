/// Follows the frame boundaries of one direction of a peershare connection (a 4-byte
/// big-endian length, then the payload) as the bytes pass through the relay, in whatever
/// pieces TCP delivers them, without buffering a frame: the relay must forward every byte
/// unchanged and at once, except the one it means to alter.
struct FrameTracker {
    /// The index of the frame being read (0 = the first frame of this direction).
    private(set) var frameIndex = 0
    private var lengthBytes: [UInt8] = []
    /// Payload bytes of the current frame still to come; 0 while reading a length.
    private var remaining = 0
    private var length = 0

    /// One run of payload bytes inside a chunk: `range` in the chunk holds the bytes at
    /// `offset..<offset + range.count` of frame `frame`, whose payload has `length` bytes.
    struct Run {
        let frame: Int
        let length: Int
        let offset: Int
        let range: Range<Int>
    }

    /// Scans `chunk` (the next bytes of the direction), calling `visit` for every run of
    /// payload bytes; `visit` may change the bytes of its run in `chunk`.
    mutating func scan(_ chunk: inout [UInt8], visit: (Run, inout [UInt8]) -> Void) {
        var index = 0
        while index < chunk.count {
            if remaining == 0 {
                lengthBytes.append(chunk[index])
                index += 1
                if lengthBytes.count == 4 {
                    length = lengthBytes.reduce(0) { $0 << 8 | Int($1) }
                    remaining = length
                    lengthBytes = []
                    // A zero-length frame (which the agents refuse) has no payload to visit.
                    if length == 0 { frameIndex += 1 }
                }
                continue
            }
            let count = min(remaining, chunk.count - index)
            visit(Run(frame: frameIndex, length: length, offset: length - remaining, range: index..<index + count), &chunk)
            remaining -= count
            index += count
            if remaining == 0 { frameIndex += 1 }
        }
    }
}
