import NIOCore
import PeershareCore
import Synchronization

/// The largest frame a connection currently accepts. It starts at the handshake cap and is
/// raised to the stream cap only after the peer has authenticated, so a stranger can make
/// the agent buffer at most `WireLimits.maxHandshakeMessage` bytes per connection.
final class FrameLimit: Sendable {
    private let value: Atomic<Int>

    init(_ initial: Int) { value = Atomic(initial) }

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
/// The length is checked against `FrameLimit` before a single payload byte is buffered or
/// allocated; a zero or oversized length closes the connection.
struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let limit: FrameLimit

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        let cap = limit.current
        guard length > 0, Int(length) <= cap else { throw FrameTooLarge(length: length, limit: cap) }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        guard let frame = buffer.readSlice(length: Int(length)) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
