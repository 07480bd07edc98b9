import Foundation
import PeershareCore

/// After the handshake: the offer and the receiver's answer, every entry and its bytes, and
/// the receiver's confirmation.
extension SenderSession {
    /// Sends the OFFER; on ACCEPT, returns what the receiver already holds and when it
    /// accepted. A refusal or failure is the receiver's reason as this side's error.
    func offer(_ summary: OfferSummary, on secure: SecureChannel, receiver: [UInt8],
               address: PeerAddress) async throws(AgentError) -> (SenderHoldings, ContinuousClock.Instant) {
        try await secure.send(.offer(summary, capabilities: .implemented))
        switch try await secure.receive(waitingFor: "the receiver's answer") {
        case .message(.accept(let receiverName, let agreed), false):
            secure.capabilities = agreed.intersection(.implemented)
            let holdings = try await SenderHoldings.receive(secure)
            // Now that the receiver said its name, the pin (made right after the handshake
            // under the address) carries it.
            do {
                try trust.remember(key: receiver, name: receiverName, address: address.description)
            } catch {
                logger.warning("cannot refresh the pin", metadata: ["error": "\(error.message)"])
            }
            let acceptedAt = ContinuousClock.now
            events(TransferEvent(.accepted(transfer: transferID, peer: receiverName)))
            return (holdings, acceptedAt)
        case .message(.refuse(let reason, let text), _):
            throw Failure.refusal(reason, text)
        case .message(.failure(let code, let text), _):
            throw Failure.fromReceiver(code, text)
        default:
            throw AgentError(.protocolError, "Protocol error: the receiver answered the offer with something else.")
        }
    }

    /// Every entry; a failure says why to the receiver when it can, and prefers the
    /// receiver's own reason when it stopped first.
    func stream(_ secure: SecureChannel, holdings: SenderHoldings) async throws(AgentError) -> ResumeCounters {
        do {
            return try await streamEntries(secure, holdings: holdings)
        } catch let error {
            // A receiver that stops mid-stream says why in its final message; prefer that reason.
            if error.kind == .unreachable, let reason = await Self.finalReason(secure) { throw reason }
            // A source file that failed queued its FAILURE for the receiver: send it.
            if error.kind == .io { await secure.io.flushFinal() }
            if error.kind == .cancelled {
                try? secure.enqueue(.failure(.cancelled, "The sender cancelled the transfer."), final: true)
                await secure.io.flushFinal()
                throw AgentError(.cancelled, "Cancelled: the receiver was told. \(Failure.whatTheReceiverKeeps)")
            }
            throw error
        }
    }

    /// DONE, with the counts that were sent.
    func confirmation(_ secure: SecureChannel) async throws(AgentError) -> (files: UInt64, bytes: UInt64) {
        secure.io.timer.arm(seconds: timeouts.confirmation, reason: "waiting for the receiver to confirm")
        defer { secure.io.timer.disarm() }
        switch try await secure.receive(waitingFor: "the receiver's confirmation") {
        case .message(.done(let files, let bytes), true):
            guard files == plan.fileCount, bytes == plan.totalBytes else {
                throw AgentError(.protocolError, "The receiver confirmed \(files) files and \(bytes) bytes, but \(plan.fileCount) files and \(plan.totalBytes) bytes were sent.")
            }
            return (files, bytes)
        case .message(.failure(let code, let text), _):
            throw Failure.fromReceiver(code, text)
        default:
            throw AgentError(.protocolError, "Protocol error: expected the receiver's confirmation.")
        }
    }

    /// Sends every entry and its bytes, batching frames; no round trip per file.
    private func streamEntries(_ secure: SecureChannel, holdings: SenderHoldings) async throws(AgentError) -> ResumeCounters {
        // A receiver that stops reading (a cut network) is noticed when no write completes
        // for `idle` seconds: the watch closes the connection, and the wait fails.
        let idle = IdleWatch()
        idle.start(channel: secure.io.channel, seconds: timeouts.idle)
        secure.io.writeProgress = idle
        defer {
            idle.stop()
            secure.io.writeProgress = nil
        }
        var sentBytes: UInt64 = 0
        var sentFiles: UInt64 = 0
        var counters = ResumeCounters()
        let directories = SourceDirectories()
        if let text = textToSend(on: secure) {
            try secure.enqueue(.text(text))
            sentFiles = 1
            sentBytes = UInt64(text.utf8.count)
            counters.wireBytes += sentBytes
        } else {
        for (index, entry) in plan.entries.enumerated() {
            if Task.isCancelled { throw AgentError(.cancelled, "Cancelled.") }
            let resumeFrom = try announce(entry, source: plan.sources[index], holdings: holdings, on: secure)
            guard entry.kind == .file else {
                try await secure.io.flushIfLarge()
                continue
            }
            if resumeFrom > 0 && resumeFrom == entry.size {
                // The receiver holds it complete: nothing travels.
                counters.skippedFiles += 1
                counters.resumedBytes += resumeFrom
                sentBytes += resumeFrom
                sentFiles += 1
                reportFile(entry, resumedFrom: resumeFrom)
                try await secure.io.flushIfLarge()
                continue
            }
            sentBytes += try await streamFile(entry, source: plan.sources[index], resumeFrom: resumeFrom, directories: directories,
                                              sentBefore: sentBytes, counters: &counters, on: secure)
            sentFiles += 1
            reportFile(entry, resumedFrom: resumeFrom)
        }
        }
        try secure.enqueue(.end(files: sentFiles, bytes: sentBytes), final: true)
        do {
            try await secure.io.drain()
        } catch where idle.didFire {
            throw AgentError(.unreachable, "The transfer stalled: the receiver read nothing for \(timeouts.idle) seconds (network cut?).")
        }
        return counters
    }

    /// The text to send as one TEXT message in place of ENTRY and DATA: the send is a text
    /// (`sendsText`), the receiver agreed to `text`, and the one planned file is still valid
    /// UTF-8 of its planned size, at most `WireLimits.maxText` bytes. Otherwise the file goes
    /// as a file (said as a warning when the receiver does not take text).
    private func textToSend(on secure: SecureChannel) -> String? {
        guard sendsText, plan.entries.count == 1, let entry = plan.entries.first, let source = plan.sources.first,
              entry.kind == .file, entry.size <= UInt64(WireLimits.maxText) else { return nil }
        guard secure.capabilities.contains(.text) else {
            let warning = "Sent as \(entry.path.string): the receiver does not take text."
            events(TransferEvent(.warning(AgentEvent.Warning(transfer: transferID, message: warning))))
            return nil
        }
        guard let handle = FileHandle(forReadingAtPath: source) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: WireLimits.maxText + 1), UInt64(data.count) == entry.size else { return nil }
        return String(validating: data, as: UTF8.self)
    }

    /// Enqueues ENTRY (after RESUME when the receiver holds the file's start); returns the
    /// offset the file continues from (its size: the receiver holds it complete).
    private func announce(_ entry: Entry, source: String, holdings: SenderHoldings, on secure: SecureChannel) throws(AgentError) -> UInt64 {
        // Resume: a file the receiver holds complete is not sent; one it holds the
        // start of (same prefix hash) continues from there.
        if let held = holdings.prefixToCheck(for: entry, sender: identity.publicKey) {
            events(TransferEvent(.checking(AgentEvent.Checking(transfer: transferID, bytes: held, file: entry.path.string))))
        }
        let resumeFrom = holdings.isEmpty ? 0 : holdings.resumeOffset(for: entry, source: source, sender: identity.publicKey)
        if resumeFrom > 0 { try secure.enqueue(.resume(offset: resumeFrom)) }
        try secure.enqueue(.entry(entry))
        return resumeFrom
    }

    /// One file's data and holes from `resumeFrom` on; returns the file bytes accounted
    /// (held ones included).
    private func streamFile(_ entry: Entry, source path: String, resumeFrom: UInt64, directories: SourceDirectories, sentBefore: UInt64,
                            counters: inout ResumeCounters, on secure: SecureChannel) async throws(AgentError) -> UInt64 {
        let source: FileSource
        do {
            source = try FileSource(path: path, expectedSize: entry.size, directories: directories)
        } catch {
            throw Self.sourceFailure(error, entry: entry, secure: secure)
        }
        defer { source.close() }
        var fileBytes: UInt64 = 0
        if resumeFrom > 0 {
            source.skip(to: resumeFrom)
            fileBytes = resumeFrom
            counters.resumedFiles += 1
            counters.resumedBytes += resumeFrom
        }
        while true {
            switch try readPiece(source, entry: entry, remaining: min(entry.size - min(fileBytes, entry.size), pieceLimit), on: secure) {
            case .data(let count):
                fileBytes += UInt64(count)
                counters.wireBytes += UInt64(count)
                try await pace(count, on: secure)
            case .hole(let length):
                try secure.enqueue(.hole(length))
                fileBytes += length
            case .end:
                return fileBytes
            }
            try await secure.io.flushIfLarge()
            reportProgress(sentBefore + fileBytes, entry: entry)
            if Task.isCancelled { throw AgentError(.cancelled, "Cancelled.") }
        }
    }

    /// The next piece of `source`: data is read straight into the frame being built.
    private func readPiece(_ source: FileSource, entry: Entry, remaining: UInt64, on secure: SecureChannel) throws(AgentError) -> FilePiece {
        var piece = FilePiece.end
        var readError: SendError?
        _ = try secure.enqueueData(expected: remaining) { buffer throws(AgentError) in
            do throws(SendError) {
                piece = try source.next(into: buffer)
            } catch {
                readError = error
                return 0
            }
            if case .data(let count) = piece { return count }
            return 0
        }
        if let readError { throw Self.sourceFailure(readError, entry: entry, secure: secure) }
        return piece
    }

    private func reportProgress(_ bytes: UInt64, entry: Entry) {
        guard progress.due(bytes: bytes) else { return }
        var event = AgentEvent.Progress(transfer: transferID, bytes: bytes, totalBytes: plan.totalBytes, file: entry.path.string)
        progress.addRate(to: &event)
        events(TransferEvent(.progress(event)))
    }

    /// A `file` event for `send -v`: the file is queued whole (`resumedBytes` absent),
    /// continued from `resumedBytes`, or skipped (`resumedBytes` equal to its size).
    private func reportFile(_ entry: Entry, resumedFrom: UInt64) {
        guard fileEvents else { return }
        events(TransferEvent(.file(AgentEvent.FileSent(
            transfer: transferID, file: entry.path.string, bytes: entry.size, resumedBytes: resumedFrom > 0 ? resumedFrom : nil))))
    }

    /// A source file that cannot be read, or changed, ends the transfer. The receiver is told
    /// which entry and why (FAILURE 2, I/O error, queued as the final message) instead of
    /// seeing only a closed connection; the sender's own path and error details stay here.
    private static func sourceFailure(_ error: SendError, entry: Entry, secure: SecureChannel) -> AgentError {
        let name = "'\(entry.path.string)'"
        let told = error.code == .changedWhileSending ? "\(name) changed while it was being sent" : "\(name) could not be read on the sender"
        try? secure.enqueue(.failure(.ioError, told), final: true)
        return AgentError(.io, error.message, underlying: error)
    }

    /// After a write failed, the receiver's last message (if it sent one) says why.
    private static func finalReason(_ secure: SecureChannel) async -> AgentError? {
        secure.io.timer.arm(seconds: 2, reason: "reading the receiver's reason")
        defer { secure.io.timer.disarm() }
        while let received = try? await secure.receive(waitingFor: "the receiver's reason") {
            if case .message(.failure(let code, let text), _) = received { return Failure.fromReceiver(code, text) }
            if case .message(_, true) = received { return nil }
        }
        return nil
    }
}
