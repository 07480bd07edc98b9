import NIOCore
import PeershareCore

/// Reads and writes frames on one connection: the inbound iterator and outbound writer of a
/// `NIOAsyncChannel`, plus its deadline and its frame cap.
///
/// Writes are batched into one buffer and handed to NIO when the batch is large or when the
/// caller is about to wait for an answer (`flush`), so many small files do not cost one
/// syscall each. Used by one task at a time; not Sendable.
final class FrameIO {
    private var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    let channel: any Channel
    let timer: ConnectionTimer
    let limit: FrameLimit
    private(set) var batch: ByteBuffer
    /// Bytes read from and written to the socket, frame headers included.
    private(set) var bytesIn: UInt64 = 0
    private(set) var bytesOut: UInt64 = 0
    static let batchFlushThreshold = 256 * 1024

    init(channel: any Channel, inbound: NIOAsyncChannelInboundStream<ByteBuffer>, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, limit: FrameLimit) {
        self.iterator = inbound.makeAsyncIterator()
        self.outbound = outbound
        self.channel = channel
        self.timer = ConnectionTimer(channel: channel)
        self.limit = limit
        self.batch = channel.allocator.buffer(capacity: Self.batchFlushThreshold + WireLimits.maxStreamFrame + 8)
    }

    /// The next frame. The connection ending, a deadline or an oversized frame is an error.
    func readFrame(waitingFor what: String) async throws(AgentError) -> ByteBuffer {
        let frame: ByteBuffer?
        do {
            frame = try await iterator.next()
        } catch let error as FrameTooLarge {
            throw AgentError(.protocolError, "Protocol error: \(error.description).", underlying: error)
        } catch {
            throw closedError(waitingFor: what, underlying: error)
        }
        guard let frame else { throw closedError(waitingFor: what, underlying: nil) }
        bytesIn &+= UInt64(frame.readableBytes + 4)
        return frame
    }

    private func closedError(waitingFor what: String, underlying: (any Error)?) -> AgentError {
        if underlying is CancellationError || Task.isCancelled {
            return AgentError(.cancelled, "Cancelled.", underlying: underlying)
        }
        if let reason = timer.expiredReason {
            return AgentError(.unreachable, "Timed out \(reason).", underlying: underlying)
        }
        let cause = underlying.map { ": \($0)" } ?? ""
        return AgentError(.unreachable, "The connection closed while waiting for \(what)\(cause).", underlying: underlying)
    }

    /// Appends one frame holding `payload` to the batch.
    func enqueue(_ payload: [UInt8]) {
        batch.writeInteger(UInt32(payload.count))
        batch.writeBytes(payload)
    }

    /// Appends one frame whose payload (exactly `length` bytes) is written by `fill`.
    func enqueue(length: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        batch.writeInteger(UInt32(length))
        try batch.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { pointer in
            try fill(UnsafeMutableRawBufferPointer(rebasing: pointer[0..<length]))
            return length
        }
    }

    /// Writes the batch if it passed the threshold.
    func flushIfLarge() async throws(AgentError) {
        if batch.readableBytes >= Self.batchFlushThreshold { try await flush() }
    }

    /// Hands everything batched to the socket (waits while the socket is not writable).
    func flush() async throws(AgentError) {
        guard batch.readableBytes > 0 else { return }
        let out = batch
        bytesOut &+= UInt64(out.readableBytes)
        batch = channel.allocator.buffer(capacity: Self.batchFlushThreshold + WireLimits.maxStreamFrame + 8)
        do {
            try await outbound.write(out)
        } catch {
            throw closedError(waitingFor: "the peer to read", underlying: error)
        }
    }

    /// Writes the batch straight to the channel, bypassing the async writer, and waits at most
    /// a moment for it: used for a last word ("cancelled", "shutting down") from a task that
    /// is already cancelled, whose async writes would fail at once.
    func flushFinal() async {
        guard batch.readableBytes > 0 else { return }
        let out = batch
        batch.clear()
        let channel = self.channel
        let written = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(out, promise: written)
        // A peer that stopped reading must not keep us: close after a second.
        let deadline = channel.eventLoop.scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
        _ = try? await written.futureResult.get()
        deadline.cancel()
    }

    /// Sends one frame now.
    func send(_ payload: [UInt8]) async throws(AgentError) {
        enqueue(payload)
        try await flush()
    }
}
