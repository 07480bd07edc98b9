import Dispatch
import PeershareCore
import NIOConcurrencyHelpers

/// Runs an `OfferWriter` on its own thread, so that writing files overlaps with receiving,
/// decrypting and checking the next frame.
///
/// Why: on a tree of small files the receiver's file-system calls (create, write, rename,
/// utimensat, close) take most of its CPU; done on the session task they would serialize
/// with decryption and checks. So the session task only decrypts and checks
/// (`EntryAccounting`) and hands each frame's operations, in stream order, to a serial queue.
/// BENCHMARKS.md has the figures.
///
/// Frames are decrypted into one of `bufferCount` plaintext buffers owned here; a buffer
/// goes back to the free list once the queue has written everything that points into it,
/// so memory stays bounded (`bufferCount × WireLimits.maxStreamMessage`) and a slow disk
/// slows the session task down instead of letting frames pile up.
///
/// The first writer error stops the queue: later operations are skipped, and `acquire`,
/// `drain` and `failure` report it.
///
/// `@unchecked Sendable` invariant: the writer (not Sendable) is touched only on `queue`,
/// and its counters are read through `queue.sync`; everything else that changes is in
/// `state`, under its lock.
final class WritePipeline: @unchecked Sendable {
    /// What the session task asks the writer to do, in stream order.
    ///
    /// `@unchecked Sendable` invariant: a `.write` points into a `Buffer` that the session
    /// task does not touch again until the queue has performed the operation and released it.
    enum Operation: @unchecked Sendable {
        /// Begin an entry; for a file, continue a held partial file from the offset of the
        /// RESUME before it.
        case begin(Entry, resumeFrom: UInt64?)
        /// Bytes inside the frame's buffer.
        case write(UnsafeRawBufferPointer)
        /// The bytes of a TEXT message (they live in the message, not in the buffer).
        case writeText(String)
        case hole(UInt64)
        case finishFile
        case finishAll
    }

    /// One plaintext buffer (`WireLimits.maxStreamMessage` bytes).
    ///
    /// `@unchecked Sendable` invariant: a buffer is used by one side at a time, handed over
    /// by `acquire`, `submit` and `release` (the free list is under `state`'s lock).
    struct Buffer: @unchecked Sendable {
        let bytes: UnsafeMutableRawBufferPointer
    }

    private struct State {
        var free: [Buffer]
        var failure: InboxError?
        var waiter: CheckedContinuation<Void, Never>?
    }

    /// Four buffers: enough for the decryption of the next frames to run ahead of the
    /// writes, while adding at most 1 MiB to the receiver.
    static let bufferCount = 4

    private let writer: OfferWriter
    private let queue = DispatchQueue(label: "peershare.receive.writer")
    private let state: NIOLockedValueBox<State>
    private let allBuffers: [Buffer]

    init(writer: OfferWriter) {
        self.writer = writer
        let buffers = (0..<Self.bufferCount).map { _ in
            Buffer(bytes: .allocate(byteCount: WireLimits.maxStreamMessage, alignment: 16))
        }
        allBuffers = buffers
        state = NIOLockedValueBox(State(free: buffers, failure: nil, waiter: nil))
    }

    deinit {
        for buffer in allBuffers {
            buffer.bytes.initializeMemory(as: UInt8.self, repeating: 0)
            buffer.bytes.deallocate()
        }
    }

    /// A free buffer, waiting while the queue still uses all of them. Throws the writer's
    /// failure, if there was one, instead.
    func acquire() async throws(InboxError) -> Buffer {
        while true {
            let taken: Result<Buffer, InboxError>? = state.withLockedValue { state in
                if let failure = state.failure { return .failure(failure) }
                if let buffer = state.free.popLast() { return .success(buffer) }
                return nil
            }
            if let taken { return try taken.get() }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLockedValue { state in
                    if !state.free.isEmpty || state.failure != nil { return true }
                    state.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }

    /// Gives `buffer` back unused (the frame read into it failed).
    func release(_ buffer: Buffer) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            state.free.append(buffer)
            let waiter = state.waiter
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Runs `operations` on the queue, then frees `buffer`, which they may point into.
    func submit(_ buffer: Buffer, _ operations: [Operation]) {
        queue.async { [self] in
            if state.withLockedValue({ $0.failure == nil }) {
                do throws(InboxError) {
                    for operation in operations { try perform(operation) }
                } catch {
                    state.withLockedValue { $0.failure = error }
                }
            }
            release(buffer)
        }
    }

    private static func write(_ text: String, to writer: OfferWriter) throws(InboxError) {
        var text = text
        var failure: InboxError?
        text.withUTF8 { bytes in
            do throws(InboxError) { try writer.write(UnsafeRawBufferPointer(bytes)) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    private func perform(_ operation: Operation) throws(InboxError) {
        switch operation {
        case .begin(let entry, let offset): try writer.begin(entry, resumeFrom: offset)
        case .write(let bytes): try writer.write(bytes)
        case .writeText(let text): try Self.write(text, to: writer)
        case .hole(let length): try writer.skipHole(length)
        case .finishFile:
            // Nothing is open after a file the receiver announced as already complete.
            if writer.hasOpenFile { try writer.finishFile() }
        case .finishAll: try writer.finishAll()
        }
    }

    /// Waits until everything submitted was performed (or skipped after a failure).
    func drain() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async { continuation.resume() }
        }
    }

    /// The writer's failure, if any (call after `drain` for a final answer).
    var failure: InboxError? { state.withLockedValue { $0.failure } }

    /// Waits for what was submitted, then aborts the writer (see `OfferWriter.abort`),
    /// keeping the unfinished file for a resend if `keepPartial`.
    func abort(keepPartial: Bool) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async { [self] in
                writer.abort(keepPartial: keepPartial)
                continuation.resume()
            }
        }
    }

    /// Bytes of held partial files this transfer continued; read after `drain` or `abort`.
    var resumedBytes: UInt64 { queue.sync { writer.resumedBytes } }

    /// Complete files announced as already present (not sent again); read after `drain`.
    var filesAlreadyPresent: UInt64 { queue.sync { writer.filesAlreadyPresent } }

    /// Files renamed to their final names; read after `drain` or `abort`.
    var filesCompleted: UInt64 { queue.sync { writer.filesCompleted } }

    /// What became of the file being written; read after `abort`.
    var unfinished: UnfinishedFile? { queue.sync { writer.unfinished } }

    /// Top-level names used in the inbox; read after `drain` or `abort`.
    var placedTopLevelNames: [String] { queue.sync { writer.placedTopLevelNames } }
}
