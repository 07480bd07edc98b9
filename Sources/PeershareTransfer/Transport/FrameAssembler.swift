import NIOCore
import PeershareCore
import Synchronization

/// The largest frame a connection currently accepts. It starts at the handshake cap and is
/// raised to the stream cap only after the peer has authenticated, so a stranger can make
/// the agent buffer at most `WireLimits.maxHandshakeMessage` bytes per connection.
///
/// It also counts every byte the connection delivered, so the reader can tell whether the
/// peer sent more than it has read (anything after the peer's final message is an error).
///
/// Two independent counters, touched for every frame on the event loop and read by the
/// session's task: atomics rather than the lock box every other shared object uses.
package final class FrameLimit: Sendable {
    private let value: Atomic<Int>
    private let arrived = Atomic<UInt64>(0)

    init(_ initial: Int) { value = Atomic(initial) }

    /// Bytes received on the connection so far, frame headers included.
    var bytesArrived: UInt64 { arrived.load(ordering: .acquiring) }

    func count(_ bytes: Int) { arrived.wrappingAdd(UInt64(bytes), ordering: .releasing) }

    var current: Int { value.load(ordering: .relaxed) }

    func set(_ newValue: Int) { value.store(newValue, ordering: .relaxed) }
}

/// A frame's declared length was zero or above the cap. Raised before any allocation.
struct FrameTooLarge: Error, CustomStringConvertible {
    let length: UInt32
    let limit: Int
    var description: String {
        length == 0 ? "the peer sent an empty frame" : "the peer sent a frame of \(length) bytes, over the limit of \(limit)"
    }
}

/// Splits the TCP byte stream into frames: a 4-byte big-endian length, then that many bytes.
///
/// The length is checked against `FrameLimit` as soon as its four bytes are in, before a
/// single payload byte is buffered or allocated: a zero or oversized length raises
/// `FrameTooLarge` (in the read that completed the header) and everything after it is
/// dropped. A connection that closes mid-frame delivers nothing more; the reader then
/// reports the connection closed.
///
/// Why not NIO's `ByteToMessageHandler`: it appends every read to one accumulation buffer
/// and, once it has read past a frame, moves the unread rest to the buffer's front. Stream
/// frames are about 256 KiB and arrive in reads of up to 64 KiB, so bytes were copied in and
/// then often moved again; that move (`discardReadBytes`) was about a fifth of the receiving
/// event loop's samples (perf, tree of small files). Here a frame that lies whole in one
/// read goes on as a slice of it (no copy), and one spread over several reads is copied
/// once into a buffer reserved for it.
final class FrameAssembler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private enum State {
        /// Reading a length: `count` (0–3) bytes of it so far, accumulated in `value`.
        case header(value: UInt32, count: Int)
        /// Filling `frame`, which still needs `remaining` bytes.
        case payload(frame: ByteBuffer, remaining: Int)
        /// A bad length was reported; nothing more is read.
        case failed
    }

    let limit: FrameLimit
    private var state = State.header(value: 0, count: 0)
    /// Reads that arrived while an earlier one was still being split (a handler further on
    /// reacting to a frame by feeding the pipeline again): they wait, so bytes stay in order.
    private var pending: [ByteBuffer] = []
    private var splitting = false

    init(limit: FrameLimit) {
        self.limit = limit
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let input = unwrapInboundIn(data)
        limit.count(input.readableBytes)
        if splitting {
            pending.append(input)
            return
        }
        splitting = true
        defer { splitting = false }
        split(input, context: context)
        while !pending.isEmpty {
            split(pending.removeFirst(), context: context)
        }
    }

    private func split(_ bytes: ByteBuffer, context: ChannelHandlerContext) {
        var input = bytes
        while input.readableBytes > 0 {
            switch state {
            case .failed:
                return
            case .header(var value, var count):
                while count < 4, let byte = input.readInteger(as: UInt8.self) {
                    value = value << 8 | UInt32(byte)
                    count += 1
                }
                guard count == 4 else {
                    state = .header(value: value, count: count)
                    return
                }
                let cap = limit.current
                guard value > 0, Int(value) <= cap else {
                    state = .failed
                    pending.removeAll()
                    context.fireErrorCaught(FrameTooLarge(length: value, limit: cap))
                    return
                }
                let length = Int(value)
                if let whole = input.readSlice(length: length) {
                    state = .header(value: 0, count: 0)
                    context.fireChannelRead(wrapInboundOut(whole))
                } else {
                    // Before authentication (the cap is still the handshake's) only what has
                    // arrived is held, so four bytes cannot make a stranger's connection cost a
                    // whole frame; the buffer grows as bytes come. After it the whole frame is
                    // reserved at once, so it is never copied again while it grows.
                    let authenticated = cap > WireLimits.maxHandshakeMessage
                    let reserved = authenticated ? length : input.readableBytes
                    state = .payload(frame: context.channel.allocator.buffer(capacity: reserved), remaining: length)
                }
            case .payload(var frame, let remaining):
                let count = min(remaining, input.readableBytes)
                guard let part = input.readSlice(length: count) else { return }
                state = .failed  // drops this enum's reference, so the write below does not copy `frame`
                frame.writeImmutableBuffer(part)
                if count == remaining {
                    state = .header(value: 0, count: 0)
                    context.fireChannelRead(wrapInboundOut(frame))
                } else {
                    state = .payload(frame: frame, remaining: remaining - count)
                }
            }
        }
    }
}
