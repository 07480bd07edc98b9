import PeershareCore

/// After the offer is approved: what is already held, free space, ACCEPT, then the stream
/// into the inbox, and DONE or the reason it failed.
extension IncomingConversation {
    func transfer(_ secure: SecureChannel, summary: OfferSummary, shaken: Handshaken, nameClash: String?,
                  sessionStart: ContinuousClock.Instant) async throws(AgentError) {
        // Resume: what this receiver already holds from this sender (none if the partial
        // area cannot be used; then every file is received in full).
        let area = try? PartialArea(inbox: inbox, sender: shaken.outcome.peerIdentity)
        defer { area?.close() }
        let holdings = area.map { findHoldings($0, summary: summary) } ?? .empty
        try await checkSpace(secure, summary: summary, holdings: holdings)
        try secure.enqueue(.accept(receiverName: context.options.name, capabilities: secure.capabilities))
        try await Self.sendHoldings(holdings.records, on: secure)
        let acceptedAt = ContinuousClock.now
        announceReceiving(summary, shaken: shaken, nameClash: nameClash)

        let writer = WritePipeline(writer: OfferWriter(inbox: inbox, transferID: transferID, area: area, holdings: holdings))
        let idle = IdleWatch()
        idle.start(channel: io.channel, seconds: timeouts.idle)
        defer { idle.stop() }
        let counters = StreamCounters(rule: ProgressRule(window: timeouts.progressWindow, minimumBytes: context.options.minimumProgressBytes,
                                                         start: acceptedAt, bytesIn: io.bytesIn))
        do {
            let (files, bytes, text) = try await receiveEntries(secure, summary: summary, pipeline: writer, idle: idle, counters: counters)
            // Anything that arrived after END (also while the files were being finished) is
            // an error, reported instead of DONE; complete files stay, as after any failure.
            try secure.checkNothingAfterFinal()
            area?.close() // before DONE: a sender that looks right after it sees no empty area
            try? secure.enqueue(.done(files: files, bytes: bytes), final: true)
            try? await io.drain()
            let received = AgentEvent.Received(
                transfer: transferID, peer: summary.senderName, files: files, bytes: bytes, resumedBytes: writer.resumedBytes,
                skippedFiles: writer.filesAlreadyPresent, names: writer.placedTopLevelNames,
                seconds: (ContinuousClock.now - acceptedAt).inSeconds, waitSeconds: (acceptedAt - sessionStart).inSeconds,
                wireBytes: counters.wireBytes, inbox: inbox.path, text: text)
            context.events(TransferEvent(.received(received), direction: .receive))
        } catch let error {
            throw await failed(error, secure: secure, writer: writer, area: area, idle: idle, senderName: summary.senderName)
        }
    }

    /// Reading what is held takes a while for gigabytes: the person is told, on both sides.
    private func findHoldings(_ area: PartialArea, summary: OfferSummary) -> ResumeHoldings {
        ResumeHoldings.find(area: area, summary: summary) { files, bytes in
            let checking = AgentEvent.Checking(transfer: transferID, bytes: bytes, peer: summary.senderName, files: UInt64(files))
            context.events(TransferEvent(.checking(checking), direction: .receive))
        }
    }

    /// Free space, before any byte is written (bytes already held need none).
    private func checkSpace(_ secure: SecureChannel, summary: OfferSummary, holdings: ResumeHoldings) async throws(AgentError) {
        let free = (try? inbox.availableBytes()) ?? 0
        let stillNeeded = summary.totalBytes - min(summary.totalBytes, holdings.heldBytes)
        let needed = stillNeeded.addingReportingOverflow(context.options.reserveBytes)
        guard needed.overflow || free < needed.partialValue else { return }
        let text = "needs \(ByteCount.format(summary.totalBytes)), \(ByteCount.format(free)) free"
        try? await secure.send(.refuse(.noSpace, text), final: true)
        publishRefusal(AgentError(.noSpace, "Refused an offer from \(DisplayEscape.escape(summary.senderName)): not enough space (\(text))."),
                       peer: summary.senderName, transferID: transferID)
        throw AgentError(.noSpace, "Not enough space for the offer from \(remote).")
    }

    private func announceReceiving(_ summary: OfferSummary, shaken: Handshaken, nameClash: String?) {
        let receiving = AgentEvent.Receiving(
            transfer: transferID, peer: summary.senderName, fingerprint: shaken.fingerprint, address: remote,
            files: summary.fileCount, directories: summary.directoryCount, totalBytes: summary.totalBytes,
            names: summary.topLevelNames, paired: shaken.mode == .known, message: nameClash)
        context.events(TransferEvent(.receiving(receiving), direction: .receive))
    }

    /// A failed stream: the writer stops, the sender is told why (FAILURE), and the person
    /// here is told what was kept. Returns the error the session ends with.
    private func failed(_ error: AgentError, secure: SecureChannel, writer: WritePipeline, area: PartialArea?, idle: IdleWatch,
                        senderName: String) async -> AgentError {
        // The sender vanishing, a cut network or a cancel keeps the unfinished file for a
        // resend to continue; a disk, I/O or protocol failure removes it.
        let keep = error.kind == .unreachable || error.kind == .cancelled || idle.didFire
        await writer.abort(keepPartial: keep)
        area?.close()
        var reported = error
        if idle.didFire {
            reported = AgentError(.unreachable, "The transfer from \(DisplayEscape.escape(senderName)) stalled: nothing arrived for \(timeouts.idle) seconds (network cut?).")
        }
        let failureCode = Failure.failureCode(for: reported.kind)
        if reported.kind == .cancelled && Task.isCancelled {
            reported = AgentError(.cancelled, "The receiving agent is shutting down.")
        }
        // Complete files stay (a resend skips them); the file being written stays in the
        // partial area when `keep` and it is over 64 KiB, else it is gone: say which,
        // whenever a resend is in question (a cut, or complete files left behind).
        if keep || writer.filesCompleted > 0 {
            let kept = KeptReport(completeFiles: writer.filesCompleted, topLevelNames: writer.placedTopLevelNames,
                                  unfinished: writer.unfinished, resumable: keep)
            reported = reported.appending(sentence: kept.sentence)
        }
        try? secure.enqueue(.failure(failureCode, reported.message), final: true)
        await io.flushFinal()
        publishRefusal(reported, peer: senderName, transferID: transferID)
        return reported
    }

    /// Streams entries into the writer, checking the grammar with `ReceiveStream`: this
    /// task receives, decrypts and checks each frame and hands its file operations to the
    /// pipeline, which performs them on its own thread while the next frame is read.
    private func receiveEntries(_ secure: SecureChannel, summary: OfferSummary, pipeline: WritePipeline, idle: IdleWatch,
                                counters: StreamCounters) async throws(AgentError) -> (UInt64, UInt64, String?) {
        do {
            return try await receiveFrames(secure, summary: summary, pipeline: pipeline, idle: idle, counters: counters)
        } catch {
            // The writer runs behind: a failure it hit on earlier operations is the cause
            // to report, not what this task found in a later frame.
            await pipeline.drain()
            if let failure = pipeline.failure { throw Failure.inbox(failure) }
            throw error
        }
    }

    private func receiveFrames(_ secure: SecureChannel, summary: OfferSummary, pipeline: WritePipeline, idle: IdleWatch,
                               counters: StreamCounters) async throws(AgentError) -> (UInt64, UInt64, String?) {
        var stream = ReceiveStream(summary: summary, transferID: transferID, events: context.events, counters: counters, secure: secure)
        while true {
            let buffer = try await Self.acquire(pipeline, counters: counters)
            let received: Received
            do {
                received = try await secure.receive(waitingFor: "file data", into: buffer.bytes)
            } catch {
                pipeline.release(buffer)
                throw error
            }
            idle.touch()
            let finished: (files: UInt64, bytes: UInt64)?
            do {
                // END itself is never too late: the transfer is complete with it.
                if case .message(_, true) = received {} else { try counters.rule.check(bytesIn: secure.io.bytesIn) }
                finished = try stream.handle(received)
            } catch {
                // What was checked before the error is written, as if it had come alone.
                pipeline.submit(buffer, stream.operations)
                throw error
            }
            pipeline.submit(buffer, stream.operations)
            if stream.frameResumes {
                try await Self.written(pipeline, counters: counters)
            }
            if let finished {
                try await Self.written(pipeline)
                return (finished.files, finished.bytes, stream.text)
            }
        }
    }

    /// A free buffer for the next frame. Waits on this side's own disk do not count against
    /// the sender's progress (`counters`).
    private static func acquire(_ pipeline: WritePipeline, counters: StreamCounters) async throws(AgentError) -> WritePipeline.Buffer {
        let start = ContinuousClock.now
        let buffer: WritePipeline.Buffer
        do { buffer = try await pipeline.acquire() } catch { throw Failure.inbox(error) }
        counters.rule.exclude(ContinuousClock.now - start)
        return buffer
    }

    /// Waits for the writer to catch up; its failure is the error. With `counters`, the wait
    /// does not count against the sender's progress.
    private static func written(_ pipeline: WritePipeline, counters: StreamCounters? = nil) async throws(AgentError) {
        let start = ContinuousClock.now
        await pipeline.drain()
        counters?.rule.exclude(ContinuousClock.now - start)
        if let failure = pipeline.failure { throw Failure.inbox(failure) }
    }

    /// HOLDING messages after the (enqueued) ACCEPT: the records in pieces of at most
    /// `ResumeRecord.maxPerMessage`, the last one flagged (one empty message when there is
    /// nothing to resume), batched like file data and flushed at the end.
    static func sendHoldings(_ records: [ResumeRecord], on secure: SecureChannel) async throws(AgentError) {
        var start = 0
        repeat {
            let end = min(records.count, start + ResumeRecord.maxPerMessage)
            try secure.enqueue(.holding(last: end == records.count, records: Array(records[start..<end])))
            try await secure.io.flushIfLarge()
            start = end
        } while start < records.count
        try await secure.io.flush()
    }
}
