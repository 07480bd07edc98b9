// libFuzzer target 2, "the frame layer": the product's own FrameAssembler
// (Sources/PeershareTransfer/Transport/FrameAssembler.swift, compiled into this binary unchanged by
// Fuzz/build.sh) on an EmbeddedChannel, fed the fuzz bytes in chunks, and compared with an
// independent reference splitter.
//
// Input layout: two control bytes, then the TCP byte stream.
//   byte 0, bits 0-1   the frame cap: handshake (65,536), stream (262,162), 16 or 300 bytes
//                      (small caps let short inputs reach "exactly the cap" and "cap + 1");
//   byte 0, bit 2      raise the cap to the stream cap as soon as the first frame has been
//                      read (what SecureChannel.establish does, here at the earliest moment);
//   byte 1             how the stream is cut into reads: 0 = one read, else chunk sizes
//                      1 + (byte1 * (i + 1)) % 61 for read i (single bytes, headers split...).
//
// Properties (a violation traps, which libFuzzer reports as a crash):
//   - the frames delivered are exactly the reference frames, in order, whatever the chunking;
//   - a zero or over-cap length raises FrameTooLarge (with that length and cap) in the very read
//     that completes its 4-byte header, before any payload byte of it is needed, and no frame
//     after it is delivered;
//   - every frame is delivered by the read that brings its last byte, none earlier or later;
//   - closing the channel (decodeLast) delivers nothing more and raises no error; the bytes of
//     an incomplete last frame are dropped, never delivered as a frame.
import NIOCore
import NIOEmbedded
import PeershareCore

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("fuzz_frame property violated: \(message())") }
}

/// Raises the cap after `after` frames, like SecureChannel.establish after the header frame.
final class RaiseCap: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    let limit: FrameLimit
    let after: Int
    private var seen = 0

    init(limit: FrameLimit, after: Int) {
        self.limit = limit
        self.after = after
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        seen += 1
        if seen == after { limit.set(WireLimits.maxStreamFrame) }
        context.fireChannelRead(data)
    }
}

struct Reference {
    var frames: [[UInt8]] = []
    /// Stream offset just past each frame: it must be delivered by the read that reaches it.
    var frameEnds: [Int] = []
    /// The stream offset at which the bad header is complete (its end), with its length and cap.
    var error: (end: Int, length: UInt32, cap: Int)?
    /// Bytes of an incomplete frame left at the end.
    var leftover = 0
}

func reference(_ stream: [UInt8], cap: Int, raiseAfter: Int?) -> Reference {
    var result = Reference()
    var index = 0
    while stream.count - index >= 4 {
        let length = UInt32(stream[index]) << 24 | UInt32(stream[index + 1]) << 16
            | UInt32(stream[index + 2]) << 8 | UInt32(stream[index + 3])
        let current = raiseAfter.map { result.frames.count >= $0 } == true ? WireLimits.maxStreamFrame : cap
        if length == 0 || Int(length) > current {
            result.error = (index + 4, length, current)
            return result
        }
        guard stream.count - index - 4 >= Int(length) else { break }
        result.frames.append(Array(stream[(index + 4)..<(index + 4 + Int(length))]))
        result.frameEnds.append(index + 4 + Int(length))
        index += 4 + Int(length)
    }
    result.leftover = stream.count - index
    return result
}

let caps = [WireLimits.maxHandshakeMessage, WireLimits.maxStreamFrame, 16, 300]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrame(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let control = data[0], chunking = data[1]
    let stream = Array(UnsafeBufferPointer(start: data + 2, count: size - 2))
    let cap = caps[Int(control & 3)]
    let raiseAfter: Int? = control & 4 != 0 ? 1 : nil
    let expected = reference(stream, cap: cap, raiseAfter: raiseAfter)

    let channel = EmbeddedChannel()
    let limit = FrameLimit(cap)
    do {
        try channel.pipeline.syncOperations.addHandler(FrameAssembler(limit: limit))
        if let raiseAfter { try channel.pipeline.syncOperations.addHandler(RaiseCap(limit: limit, after: raiseAfter)) }
    } catch {
        fatalError("pipeline setup failed: \(error)")
    }

    var received: [[UInt8]] = []
    func drain() {
        while let frame = try? channel.readInbound(as: ByteBuffer.self) {
            received.append(Array(frame.readableBytesView))
        }
    }

    var offset = 0
    var read = 0
    var thrown: (any Error)?
    var thrownIn = 0..<0
    while offset < stream.count {
        let length = chunking == 0 ? stream.count : 1 + (Int(chunking) * (read + 1)) % 61
        let end = min(stream.count, offset + length)
        let buffer = channel.allocator.buffer(bytes: stream[offset..<end])
        read += 1
        do {
            try channel.writeInbound(buffer)
        } catch {
            thrown = error
            thrownIn = offset..<end
            drain()
            break
        }
        drain()
        // Every frame whose bytes have all arrived has been delivered, and no other.
        let due = expected.frameEnds.prefix { $0 <= end }.count
        check(received.count == due, "after \(end) bytes \(received.count) frames delivered, \(due) due")
        offset = end
    }

    if let error = expected.error {
        guard let thrown else { fatalError("no error for a bad frame length \(error.length) (cap \(error.cap))") }
        guard let tooLarge = thrown as? FrameTooLarge else { fatalError("unexpected error \(thrown)") }
        check(tooLarge.length == error.length && tooLarge.limit == error.cap,
              "FrameTooLarge(\(tooLarge.length), \(tooLarge.limit)) instead of (\(error.length), \(error.cap))")
        // Raised by the read that completed the header, not later.
        check(thrownIn.lowerBound < error.end && error.end <= thrownIn.upperBound,
              "error raised in read \(thrownIn) for a header ending at \(error.end)")
        check(received == expected.frames, "frames before the error differ: \(received.count) vs \(expected.frames.count)")
        _ = try? channel.finish()
        return 0
    }
    if let thrown { fatalError("unexpected error \(thrown)") }
    check(received == expected.frames, "frames differ: \(received.count) vs \(expected.frames.count)")

    // Close (decodeLast): nothing more may come out, and no error: the bytes of an incomplete
    // frame are dropped (FrameIO then reports the connection closed while waiting).
    do {
        _ = try channel.finish()
    } catch {
        fatalError("unexpected close error \(error) with \(expected.leftover) leftover bytes")
    }
    drain()
    check(received == expected.frames, "a frame was delivered on close")
    return 0
}
