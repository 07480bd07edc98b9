import Foundation
import PeershareCore

/// The receiver's reading of the stream after ACCEPT: each frame's messages and data,
/// checked against the offer with `EntryAccounting`, become the writer's operations for
/// that frame, in stream order.
///
/// A value the receiving loop owns: it holds the state that spans frames (the open file, a
/// pending RESUME, the bytes accounted for progress) and nothing that waits.
struct ReceiveStream {
    private var accounting: EntryAccounting
    private var fileOpen = false
    private var resumeOffset: UInt64?
    private var bytesAccounted: UInt64 = 0
    private let progress = ProgressThrottle()
    private let totalBytes: UInt64
    private let transferID: String
    private let events: EventSink
    private let counters: StreamCounters
    private let secure: SecureChannel
    /// The current frame's operations, in stream order, each checked before it is added.
    private(set) var operations: [WritePipeline.Operation] = []
    /// This frame begins a file continued from a RESUME: the claim is checked by the
    /// writer, so the frame is waited for and a refusal answered at once (a sender
    /// that lies about what the receiver holds may stop and wait for the verdict).
    private(set) var frameResumes = false
    /// The text of a TEXT message (capability `text`), once it arrived.
    private(set) var text: String?

    init(summary: OfferSummary, transferID: String, events: @escaping EventSink, counters: StreamCounters, secure: SecureChannel) {
        accounting = EntryAccounting(summary: summary)
        totalBytes = summary.totalBytes
        self.transferID = transferID
        self.events = events
        self.counters = counters
        self.secure = secure
    }

    /// One received frame; returns END's counts after the last one. What was checked before
    /// an error stays in `operations`, to be written as if it had come alone.
    mutating func handle(_ received: Received) throws(AgentError) -> (files: UInt64, bytes: UInt64)? {
        operations = []
        frameResumes = false
        switch received {
        case .data(let bytes, let isFinal):
            guard !isFinal, bytes.count > 0 else { throw AgentError(.protocolError, "Protocol error: a malformed data message.") }
            try write(bytes)
        case .batch(let body, let isFinal):
            guard !isFinal else { throw AgentError(.protocolError, "Protocol error: a batch carrying the final tag.") }
            try applyBatch(body)
        case .message(.hole(let length), false):
            try apply(.hole(length))
        case .message(.entry(let entry), false):
            try apply(.entry(entry))
        case .message(.resume(let offset), false):
            // Always a message of its own (never in a BATCH): the next ENTRY continues
            // a held partial file from `offset`.
            do { try accounting.resume(offset: offset) } catch { throw Self.protocolError(error) }
            resumeOffset = offset
        case .message(.text(let text), false):
            try receiveText(text)
        case .message(.end(let files, let bytes), true):
            do { try accounting.end(files: files, bytes: bytes) } catch { throw Self.protocolError(error) }
            // END is the last message: anything already behind it is an error, found
            // before the last file is finished.
            try secure.checkNothingAfterFinal()
            if fileOpen { operations.append(.finishFile) }
            operations.append(.finishAll)
            return (files, bytes)
        case .message(.failure(let code, let text), _):
            throw Failure.fromSender(code, text)
        default:
            throw AgentError(.protocolError, "Protocol error: an unexpected message during the transfer.")
        }
        return nil
    }

    /// TEXT: only when both sides agreed to `text`, and only as the offer's one file (the
    /// grammar's check); written to the inbox under the offered name like that file.
    private mutating func receiveText(_ text: String) throws(AgentError) {
        guard secure.capabilities.contains(.text) else {
            throw AgentError(.protocolError, "Protocol error: a text message, but the text capability was not agreed.")
        }
        let entry: Entry
        do { entry = try accounting.text(text, mtimeSeconds: Int64(Date().timeIntervalSince1970)) } catch { throw Self.protocolError(error) }
        operations.append(.begin(entry, resumeFrom: nil))
        operations.append(.writeText(text))
        operations.append(.finishFile)
        bytesAccounted += entry.size
        counters.wireBytes += entry.size
        self.text = text
    }

    private mutating func applyBatch(_ body: UnsafeRawBufferPointer) throws(AgentError) {
        var items: StreamBatch.Reader
        do { items = try StreamBatch.Reader(body: body) } catch { throw Self.protocolError(error) }
        while true {
            let item: StreamBatch.Item?
            do { item = try items.next() } catch { throw Self.protocolError(error) }
            guard let item else { return }
            switch item {
            case .data(let bytes): try write(bytes)
            case .message(let message): try apply(message)
            }
        }
    }

    private mutating func write(_ bytes: UnsafeRawBufferPointer) throws(AgentError) {
        do { _ = try accounting.data(count: bytes.count) } catch { throw Self.protocolError(error) }
        operations.append(.write(bytes))
        bytesAccounted += UInt64(bytes.count)
        counters.wireBytes += UInt64(bytes.count)
        if progress.due(bytes: bytesAccounted) {
            var event = AgentEvent.Progress(transfer: transferID, bytes: bytesAccounted, totalBytes: totalBytes)
            progress.addRate(to: &event)
            events(TransferEvent(.progress(event)))
        }
    }

    /// ENTRY and HOLE, alone or from a batch.
    private mutating func apply(_ message: StreamMessage) throws(AgentError) {
        switch message {
        case .hole(let length):
            do { _ = try accounting.hole(length: length) } catch { throw Self.protocolError(error) }
            operations.append(.hole(length))
            bytesAccounted += length
        case .entry(let entry):
            do { _ = try accounting.beginEntry(entry) } catch { throw Self.protocolError(error) }
            if fileOpen { operations.append(.finishFile) }
            operations.append(.begin(entry, resumeFrom: resumeOffset))
            if resumeOffset != nil { frameResumes = true }
            resumeOffset = nil
            // A file announced as complete opens nothing; `.finishFile` then does nothing.
            fileOpen = entry.kind == .file
        default:
            throw AgentError(.protocolError, "Protocol error: an unexpected message during the transfer.")
        }
    }

    private static func protocolError(_ error: WireError) -> AgentError {
        AgentError(.protocolError, "Protocol error: \(error)", underlying: error)
    }
}
