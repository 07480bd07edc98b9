import NIOCore
import PeershareCore

/// Reads and writes frames on one connection: the inbound iterator of a `NIOAsyncChannel`,
/// direct writes to its channel, its deadline and its frame cap.
///
/// Writes are batched into one buffer and handed to NIO when the batch is large or when the
/// caller is about to wait for an answer (`flush`), so many small files do not cost one
/// syscall each. At most `maxBatchesInFlight` batches wait in NIO at once: the sender then
/// waits for the oldest write to complete, which bounds its memory strictly (NIO's async
/// writer learns of socket backpressure late, so bursts of many MiB could build up),
/// and a completed batch's buffer is reused for the next one, so a transfer allocates no
/// new buffers after its start. Used by one task at a time; not Sendable.
final class FrameIO {
    private var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    let channel: any Channel
    let timer: ConnectionTimer
    let limit: FrameLimit
    private(set) var batch: ByteBuffer
    /// Batches handed to NIO, oldest first, with the futures of their writes.
    private var inFlight: [(buffer: ByteBuffer, written: EventLoopFuture<Void>)] = []
    /// Bytes read from and written to the socket, frame headers included.
    private(set) var bytesIn: UInt64 = 0
    private(set) var bytesOut: UInt64 = 0
    /// Touched whenever a write completes, so a stalled receiver is noticed (see `IdleWatch`).
    var writeProgress: IdleWatch?
    static let batchFlushThreshold = 256 * 1024
    static let maxBatchesInFlight = 4
    static let batchCapacity = batchFlushThreshold + WireLimits.maxStreamFrame + 8

    init(channel: any Channel, inbound: NIOAsyncChannelInboundStream<ByteBuffer>, limit: FrameLimit, timer: ConnectionTimer? = nil) {
        self.iterator = inbound.makeAsyncIterator()
        self.channel = channel
        self.timer = timer ?? ConnectionTimer(channel: channel)
        self.limit = limit
        self.batch = channel.allocator.buffer(capacity: Self.batchCapacity)
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

    /// Bytes the connection delivered that no `readFrame` has returned yet.
    var unreadBytes: UInt64 {
        let arrived = limit.bytesArrived
        return arrived > bytesIn ? arrived - bytesIn : 0
    }

    private func closedError(waitingFor what: String, underlying: (any Error)?) -> AgentError {
        if underlying is CancellationError || Task.isCancelled {
            return AgentError(.cancelled, "Cancelled.", underlying: underlying)
        }
        if let reason = timer.closedReason {
            return AgentError(.unreachable, reason, underlying: underlying)
        }
        if let watch = writeProgress, watch.didFire {
            // The idle watch closed the connection: say so, not just "closed".
            return AgentError(.unreachable, "The transfer stalled: the receiver read nothing for \(watch.seconds) seconds (network cut?). \(Failure.whatTheReceiverKeeps)", underlying: underlying)
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

    /// Hands everything batched to the socket. Returns at once unless `maxBatchesInFlight`
    /// batches are already waiting; then waits for the oldest to be written.
    func flush() async throws(AgentError) {
        guard batch.readableBytes > 0 else { return }
        let out = batch
        bytesOut &+= UInt64(out.readableBytes)
        let written = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(out, promise: written)
        inFlight.append((out, written.futureResult))
        batch = channel.allocator.buffer(capacity: 0)
        while inFlight.count > Self.maxBatchesInFlight {
            try await completeOldestWrite()
        }
        if batch.capacity == 0 {
            batch = channel.allocator.buffer(capacity: Self.batchCapacity)
        }
    }

    /// Waits for every batch handed to NIO to be written.
    func drain() async throws(AgentError) {
        try await flush()
        while !inFlight.isEmpty { try await completeOldestWrite() }
    }

    /// Waits for the oldest write; its buffer, now referenced only here, becomes the next batch.
    private func completeOldestWrite() async throws(AgentError) {
        var (buffer, written) = inFlight.removeFirst()
        do {
            try await written.get()
        } catch {
            throw closedError(waitingFor: "the peer to read", underlying: error)
        }
        writeProgress?.touch()
        if batch.readableBytes == 0 && batch.capacity == 0 {
            buffer.clear()
            batch = buffer
        }
    }

    /// Writes the batch and waits at most a moment for everything to be written: used for a
    /// last word ("cancelled", "shutting down"), also from a task that is already cancelled.
    func flushFinal() async {
        let channel = self.channel
        // A peer that stopped reading must not keep us: close after a second.
        let deadline = channel.eventLoop.scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
        try? await drain()
        deadline.cancel()
    }

    /// Sends one frame now.
    func send(_ payload: [UInt8]) async throws(AgentError) {
        enqueue(payload)
        try await flush()
    }
}
