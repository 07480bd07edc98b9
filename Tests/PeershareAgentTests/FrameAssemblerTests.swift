import NIOCore
import NIOEmbedded
@testable import PeershareAgent
import PeershareCore
import Testing
@testable import PeershareTransfer

/// The frame layer every byte from a peer goes through first (`FrameAssembler`), on an
/// `EmbeddedChannel`: frames come out exactly however the stream is cut into reads, a bad
/// length is refused by the read that completes it, and nothing follows it. The fuzz
/// target `frame` (`make fuzz`) checks the same against a reference splitter at random.
@Suite("Frame assembler")
struct FrameAssemblerTests {
    /// A channel with the assembler at `cap`.
    private func channel(cap: Int) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(FrameAssembler(limit: FrameLimit(cap)))
        return channel
    }

    /// `payloads` framed: a 4-byte big-endian length before each.
    private func stream(_ payloads: [[UInt8]]) -> [UInt8] {
        payloads.flatMap { payload in
            withUnsafeBytes(of: UInt32(payload.count).bigEndian, Array.init) + payload
        }
    }

    private func frames(_ channel: EmbeddedChannel) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        while let frame = try channel.readInbound(as: ByteBuffer.self) {
            out.append(Array(frame.readableBytesView))
        }
        return out
    }

    static let payloads: [[UInt8]] = [[1], Array(0..<200).map { UInt8($0) }, [7, 7, 7], Array(repeating: 9, count: 33)]

    @Test("frames come out whole and in order for every read size, headers split 1+3, 2+2 and 3+1 included",
          arguments: 1...40)
    func everyChunking(size: Int) throws {
        let bytes = stream(Self.payloads)
        let channel = try channel(cap: 1_000)
        var delivered: [[UInt8]] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + size)
            try channel.writeInbound(channel.allocator.buffer(bytes: bytes[offset..<end]))
            delivered += try frames(channel)
            // Every frame whose last byte has arrived is out, and no other.
            var due = 0, position = 0
            for payload in Self.payloads {
                position += 4 + payload.count
                if position <= end { due += 1 }
            }
            #expect(delivered.count == due, "after \(end) of \(bytes.count) bytes")
            offset = end
        }
        #expect(delivered == Self.payloads)
        #expect(try channel.finish().isClean)
    }

    @Test("a zero or over-cap length fails in the read that completes its header; nothing after it comes out",
          arguments: [UInt32(0), 101, 1 << 31])
    func badLength(length: UInt32) throws {
        let channel = try channel(cap: 100)
        let good = stream([[5, 6]])
        let header = withUnsafeBytes(of: length.bigEndian, Array.init)
        try channel.writeInbound(channel.allocator.buffer(bytes: good + header.prefix(2)))
        #expect(try frames(channel) == [[5, 6]])
        let error = #expect(throws: FrameTooLarge.self) {
            try channel.writeInbound(channel.allocator.buffer(bytes: header.suffix(2) + [1, 2, 3]))
        }
        #expect(error?.length == length && error?.limit == 100)
        try channel.writeInbound(channel.allocator.buffer(bytes: stream([[8]])))
        #expect(try frames(channel).isEmpty)
        _ = try? channel.finish()
    }

    @Test("exactly the cap passes; the cap raised later applies to the next header")
    func capEdges() throws {
        let limit = FrameLimit(10)
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(FrameAssembler(limit: limit))
        try channel.writeInbound(channel.allocator.buffer(bytes: stream([Array(repeating: 1, count: 10)])))
        #expect(try frames(channel).map(\.count) == [10])
        limit.set(20)
        try channel.writeInbound(channel.allocator.buffer(bytes: stream([Array(repeating: 2, count: 20)])))
        #expect(try frames(channel).map(\.count) == [20])
        #expect(throws: FrameTooLarge.self) {
            try channel.writeInbound(channel.allocator.buffer(bytes: stream([Array(repeating: 3, count: 21)])))
        }
        _ = try? channel.finish()
    }

    @Test("a connection closed mid-frame or mid-header delivers nothing more and raises nothing")
    func closeMidFrame() throws {
        for cut in [2, 4, 9] {
            let channel = try channel(cap: 100)
            let bytes = stream([[1, 2], Array(repeating: 4, count: 20)])
            try channel.writeInbound(channel.allocator.buffer(bytes: bytes.prefix(6 + cut)))
            #expect(try frames(channel) == [[1, 2]])
            #expect(try channel.finish().isClean, "cut after \(cut) bytes of the second frame")
        }
    }

    @Test("a frame whole in one read is passed on as a slice of that read, not copied")
    func wholeFrameIsASlice() throws {
        let channel = try channel(cap: 1_000)
        let input = channel.allocator.buffer(bytes: stream([Array(repeating: 6, count: 300)]))
        let inputStart = input.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        try channel.writeInbound(input)
        let frame = try #require(try channel.readInbound(as: ByteBuffer.self))
        let frameStart = frame.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        #expect(frameStart == inputStart + 4)
        #expect(frame.readableBytes == 300)
    }

    /// A handler after the assembler that, on the first frame, feeds the pipeline again from
    /// its head: the assembler is still splitting the outer read then.
    final class FeedsAgain: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias InboundOut = ByteBuffer
        let extra: [UInt8]
        var fed = false
        init(extra: [UInt8]) { self.extra = extra }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.fireChannelRead(data)
            if !fed {
                fed = true
                context.pipeline.syncOperations.fireChannelRead(NIOAny(context.channel.allocator.buffer(bytes: extra)))
            }
        }
    }

    @Test("a read that arrives while the assembler is still splitting the previous one waits its turn")
    func reentrantReadKeepsOrder() throws {
        let channel = EmbeddedChannel()
        let later = stream([[30], [31]])
        try channel.pipeline.syncOperations.addHandler(FrameAssembler(limit: FrameLimit(100)))
        try channel.pipeline.syncOperations.addHandler(FeedsAgain(extra: later))
        let first = stream([[10], [11], [12]])
        try channel.writeInbound(channel.allocator.buffer(bytes: first))
        #expect(try frames(channel) == [[10], [11], [12], [30], [31]])
        #expect(try channel.finish().isClean)
    }
}
