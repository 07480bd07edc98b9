import Foundation
import Logging
import NIOCore
import PeershareCore
import SodiumKit

/// The receiving side of one session (the crypto_kx server): handshake, approval by the
/// person (pairing code, or y/N for paired peers under `--ask-paired`), free-space check,
/// then the entries written through `OfferWriter` as they stream in.
///
/// Everything before the key confirmation is hostile: each step has a deadline, the frame
/// cap stays at the handshake limit, and the number of such connections is capped.
package struct ReceiverSession {
    let context: SessionContext
    let inbox: InboxDirectory
    let channel: FramedChannel
    let limit: FrameLimit

    package init(context: SessionContext, inbox: InboxDirectory, channel: FramedChannel, limit: FrameLimit) {
        self.context = context
        self.inbox = inbox
        self.channel = channel
        self.limit = limit
    }

    private var remoteHost: String {
        channel.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    package func run() async {
        let transferID = TransferID.make()
        let remote = remoteHost
        var logger = context.logger
        logger[metadataKey: "peer.address"] = "\(remote)"
        logger[metadataKey: "transfer.id"] = "\(transferID)"
        let timer = ConnectionTimer(channel: channel.channel)
        guard let slot = context.admission.enterHandshake(timer) else {
            logger.notice("too many connections in the handshake; refusing one")
            try? await channel.channel.close()
            return
        }
        var inHandshake = true
        defer { if inHandshake { context.admission.leaveHandshake(slot) } }
        do {
            try await channel.executeThenClose { inbound, _ in
                let io = FrameIO(channel: channel.channel, inbound: inbound, limit: limit, timer: timer)
                try await converse(io: io, transferID: transferID, remote: remote, logger: logger, progressed: {
                    context.admission.handshakeStarted(slot)
                }, leaveSlot: {
                    if inHandshake {
                        inHandshake = false
                        context.admission.leaveHandshake(slot)
                    }
                })
            }
        } catch let error as AgentError {
            logger.info("session ended", metadata: ["error": "\(error.message)"])
            context.events(Self.ended(error, transfer: transferID))
        } catch {
            logger.info("session ended", metadata: ["error": "\(error)"])
            context.events(Self.ended(AgentError(.general, "\(error)"), transfer: transferID))
        }
    }

    /// The last word on a session that failed, whichever step it failed in: a waiting
    /// `peershare accept` learns from it how an offer ended even when no step before said so
    /// (the agent's terminal does not show it; the steps' own events did).
    private static func ended(_ error: AgentError, transfer: String) -> TransferEvent {
        var event = TransferEvent.failure(error, transfer: transfer)
        event.event = "session-ended"
        event.direction = "receive"
        return event
    }

    /// `progressed`: the peer showed it is real (its slot can no longer be evicted).
    /// `leaveSlot`: the connection no longer counts as one in the handshake (authenticated,
    /// or its offer is on the offer board, which caps waiting offers itself).
    private func converse(io: FrameIO, transferID: String, remote: String, logger: Logger, progressed: () -> Void, leaveSlot: () -> Void) async throws(AgentError) {
        let sessionStart = ContinuousClock.now
        let timeouts = context.options.timeouts
        let trust = context.trust

        // M1 → M2
        let m1 = try await io.readHandshakeMessage("the first handshake message", seconds: timeouts.handshakeStep)
        let pins = try await readPins(io: io, transferID: transferID)
        var handshake = ReceiverHandshake(identity: context.identity) { key in PinnedPeer.pin(forKey: key, in: pins) != nil }
        let m2: [UInt8]
        let mode: HandshakeMode
        let senderKey: [UInt8]
        do {
            (m2, mode, senderKey) = try handshake.handleM1(m1)
        } catch {
            if case .unsupportedVersion(let offered) = error {
                await io.sendAbort(.protocolError, HandshakeWire.unsupportedVersionText(offered))
            } else {
                await io.sendAbort(.protocolError, "\(error)")
            }
            throw .handshake(error)
        }
        let fingerprint = Fingerprint.full(of: senderKey)
        let sources = [remote, Hex.encode(senderKey)]
        if mode == .pair, let wait = context.admission.pairingBlocked(sources: sources) {
            let minutes = Int((wait / 60).rounded(.up))
            await io.sendAbort(.busy, "too many failed pairing attempts; try again in \(minutes) minute(s)")
            throw AgentError(.busy, "Refused a pairing attempt from \(remote): too many failures recently.")
        }
        try await io.send(m2)
        if mode == .known { progressed() }

        // PAIR: M3 carries the summary the person needs to decide.
        var summaryBytes: [UInt8]?
        /// The sender's name as the M3 summary claims it (PAIR), for messages before the OFFER.
        var claimedName: String?
        let code: PairingCode?
        if mode == .pair {
            let m3 = try await io.readHandshakeMessage("the offer", seconds: timeouts.handshakeStep)
            let summary: OfferSummary
            do {
                let plain = try handshake.handleM3(m3)
                summary = try OfferSummary.decode(plain)
                summaryBytes = plain
                claimedName = summary.senderName
                progressed()
            } catch let error as HandshakeError {
                await io.sendAbort(.protocolError, Self.m3AbortText(error, m3: m3))
                throw .handshake(error)
            } catch {
                await io.sendAbort(.protocolError, "bad offer summary")
                throw AgentError(.protocolError, "Refused an offer from \(remote): \(error)")
            }
            if let refusal = unwritableInbox(senderName: summary.senderName, transferID: transferID) {
                // Before the code there is no REFUSE: the abort's closest reason is "busy"
                // (not accepting offers right now); its text says why.
                await io.sendAbort(.busy, refusal.told)
                throw refusal.error
            }
            let offer = makeOffer(id: transferID, summary: summary, fingerprint: fingerprint, remote: remote, needsCode: true, pins: pins)
            switch await waitForPerson(offer, io: io, onBoard: leaveSlot) {
            case .code(let typed):
                code = typed
            case .approve:
                await io.sendAbort(.protocolError, "a pairing code is required")
                throw AgentError(.usage, "This offer needs the pairing code.")
            case .decline:
                await io.sendAbort(.declined, "declined")
                announce("offer-closed", offer, message: "declined")
                throw AgentError(.declined, "Declined the offer from \(DisplayEscape.escape(summary.senderName)).")
            case .expired:
                await io.sendAbort(.expired, "expired")
                announce("offer-closed", offer, message: "expired")
                throw AgentError(.expired, "The offer from \(DisplayEscape.escape(summary.senderName)) expired.")
            case .withdrawn:
                announce("offer-closed", offer, message: "withdrawn by the sender")
                throw AgentError(.cancelled, "The sender withdrew the offer.")
            case .busy(let reason):
                await io.sendAbort(.busy, reason)
                throw AgentError(.busy, "Refused an offer from \(remote): \(reason).")
            case .evicted(let reason):
                await io.sendAbort(.busy, "evicted: \(reason)")
                announce("offer-closed", offer, message: "removed to make room for an offer from another address")
                throw AgentError(.busy, "Removed the offer from \(remote) to make room: \(reason).")
            }
        } else {
            code = nil
        }

        // M4 → M5: key confirmation. In PAIR mode, a failure here is a wrong guess.
        let outcome: HandshakeOutcome
        do {
            let m4 = try handshake.makeM4(code: code)
            try await io.send(m4)
            let m5 = try await io.readHandshakeMessage("the sender's confirmation", seconds: timeouts.handshakeStep)
            do {
                outcome = try handshake.handleM5(m5)
            } catch {
                // The sender is told why, as for every other refused handshake message. This
                // tells a guesser nothing: M4 already showed it whether its code was right.
                await io.sendAbort(Self.m5AbortReason(error), Self.m5AbortText(error, m5: m5))
                throw error
            }
        } catch let error {
            if mode == .pair {
                context.admission.recordPairingFailure(sources: sources)
                var event = TransferEvent("pairing-failed")
                event.offer = transferID
                event.fingerprint = fingerprint
                event.address = remote
                event.message = "Pairing failed: wrong code (or the connection was tampered with). The sender must send again."
                context.events(event)
            }
            if mode == .known, let handshakeError = error as? HandshakeError,
               handshakeError == .badSignature || handshakeError == .confirmationFailed {
                // Someone used a paired peer's key without holding it (an impostor or a man
                // in the middle): the person here is told, as the sender's person is; no
                // one else would notice. Nothing was received and the pin is unchanged.
                let name = PinnedPeer.pin(forKey: senderKey, in: pins)?.name ?? fingerprint
                var event = TransferEvent.failure(AgentError(.security, "A session from \(remote) claimed to be the paired peer \"\(DisplayEscape.escape(name))\" (\(Fingerprint.short(of: senderKey))) but failed authentication (\(handshakeError == .badSignature ? "bad signature" : "wrong confirmation tag")): someone may be impersonating it. Nothing was received."), transfer: transferID)
                event.peer = name
                event.fingerprint = fingerprint
                event.address = remote
                event.direction = "receive"
                context.events(event)
            }
            if let handshakeError = error as? HandshakeError { throw .handshake(handshakeError) }
            if let agentError = error as? AgentError, mode == .pair, agentError.kind == .unreachable || agentError.kind == .wrongCode {
                throw AgentError(.wrongCode, "Pairing with \(remote) failed: wrong code.")
            }
            throw (error as? AgentError) ?? AgentError(.general, "\(error)")
        }
        leaveSlot()
        context.proven(outcome.peerIdentity, .incoming(channel.channel.remoteAddress))

        // Authenticated from here on, and still checked.
        let secure = try await SecureChannel.establish(io: io, version: outcome.version, sendKey: outcome.sendKey,
                                                       receiveKey: outcome.receiveKey, timeout: timeouts.handshakeStep)
        io.timer.arm(seconds: timeouts.handshakeStep, reason: "waiting for the offer")
        let first: Received
        do {
            first = try await secure.receive(waitingFor: "the offer")
        } catch where error.kind == .protocolError || error.kind == .security {
            // An offer that does not decode is refused (REFUSE 5, bad offer) with the reason;
            // one that failed authentication (altered on the way) ends the stream with a
            // FAILURE, as any such frame does. Either way this side's stream is intact, so
            // the sender can read why. An altered one is also shown to the person here, who
            // may just have typed the code and would otherwise see nothing happen (a fixed
            // text; only a peer that passed the handshake gets this far).
            if error.kind == .security {
                try? secure.enqueue(.failure(.protocolViolation, "bad offer: \(error.message)"), final: true)
            } else {
                try? secure.enqueue(.refuse(.badOffer, "bad offer: \(Self.withoutPrefix(error.message))"), final: true)
            }
            await io.flushFinal()
            if error.kind == .security {
                var event = TransferEvent.failure(error, transfer: transferID)
                event.peer = claimedName ?? PinnedPeer.pin(forKey: outcome.peerIdentity, in: pins)?.name
                event.direction = "receive"
                context.events(event)
            }
            throw error
        }
        io.timer.disarm()
        if mode == .known, case .message(.hello(_, let offered), true) = first {
            return await answerProbe(secure, offered: offered, sender: outcome.peerIdentity, logger: logger)
        }
        guard case .message(.offer(let summary, let offered), false) = first else {
            let text = "bad offer: expected an OFFER without the final tag, got \(Self.describe(first))"
            try? await secure.send(.refuse(.badOffer, text), final: true)
            throw AgentError(.protocolError, "Protocol error from \(remote): \(text).")
        }
        if let summaryBytes, summary.encode() != summaryBytes {
            try? await secure.send(.failure(.protocolViolation, "the offer differs from the one approved"), final: true)
            throw AgentError(.security, "The offer from \(remote) differs from the one the person approved; stopped.")
        }
        let senderName = summary.senderName
        // A paired peer may rename itself, but not to the name of another paired device:
        // then its pin keeps its old name, and the person is told.
        let nameClash = mode == .known ? nameWarning(claimed: senderName, key: fingerprint, pins: pins) : nil
        let pinnedName = nameClash == nil ? senderName : (PinnedPeer.pin(forKey: outcome.peerIdentity, in: pins)?.name ?? senderName)
        if mode == .pair {
            try trust.remember(key: outcome.peerIdentity, name: pinnedName, address: nil)
        } else {
            // Only the name and last-seen time are refreshed; the pin itself was proven.
            do {
                try trust.remember(key: outcome.peerIdentity, name: pinnedName, address: nil)
            } catch {
                logger.warning("cannot refresh the pin", metadata: ["error": "\(error.message)"])
            }
        }
        if mode == .known, let refusal = unwritableInbox(senderName: senderName, transferID: transferID) {
            try? await secure.send(.refuse(.ioError, refusal.told), final: true)
            throw refusal.error
        }
        if mode == .known && context.options.askPaired {
            let offer = makeOffer(id: transferID, summary: summary, fingerprint: fingerprint, remote: remote, needsCode: false, pins: pins)
            switch await waitForPerson(offer, io: io, onBoard: {}) {
            case .approve, .code:
                break
            case .decline:
                try? await secure.send(.refuse(.declined, "declined"), final: true)
                announce("offer-closed", offer, message: "declined")
                throw AgentError(.declined, "Declined the offer from \(DisplayEscape.escape(senderName)).")
            case .expired:
                try? await secure.send(.refuse(.expired, "expired"), final: true)
                announce("offer-closed", offer, message: "expired")
                throw AgentError(.expired, "The offer from \(DisplayEscape.escape(senderName)) expired.")
            case .withdrawn:
                announce("offer-closed", offer, message: "withdrawn by the sender")
                throw AgentError(.cancelled, "The sender withdrew the offer.")
            case .busy(let reason):
                try? await secure.send(.refuse(.busy, reason), final: true)
                throw AgentError(.busy, "Refused an offer from \(remote): \(reason).")
            case .evicted(let reason):
                try? await secure.send(.refuse(.busy, "evicted: \(reason)"), final: true)
                announce("offer-closed", offer, message: "removed to make room for an offer from another address")
                throw AgentError(.busy, "Removed the offer from \(remote) to make room: \(reason).")
            }
        }

        // Resume: what this receiver already holds from this sender (none if the partial
        // area cannot be used; then every file is received in full, as without resume).
        let area = try? PartialArea(inbox: inbox, sender: outcome.peerIdentity)
        defer { area?.close() }
        let holdings = area.map {
            ResumeHoldings.find(area: $0, summary: summary) { files, bytes in
                // Reading what is held takes a while for gigabytes: say so, on both sides' terms.
                var checking = TransferEvent("checking")
                checking.transfer = transferID
                checking.peer = senderName
                checking.files = UInt64(files)
                checking.bytes = bytes
                checking.direction = "receive"
                context.events(checking)
            }
        } ?? .empty

        // Free space, before any byte is written (bytes already held need none).
        let free = (try? inbox.availableBytes()) ?? 0
        let stillNeeded = summary.totalBytes - min(summary.totalBytes, holdings.heldBytes)
        let needed = stillNeeded.addingReportingOverflow(context.options.reserveBytes)
        if needed.overflow || free < needed.partialValue {
            let text = "needs \(ByteCount.format(summary.totalBytes)), \(ByteCount.format(free)) free"
            try? await secure.send(.refuse(.noSpace, text), final: true)
            var event = TransferEvent.failure(AgentError(.noSpace, "Refused an offer from \(DisplayEscape.escape(senderName)): not enough space (\(text))."), transfer: transferID)
            event.peer = senderName
            event.direction = "receive"
            context.events(event)
            throw AgentError(.noSpace, "Not enough space for the offer from \(remote).")
        }
        secure.capabilities = Capabilities.agreed(offered: offered)
        try secure.enqueue(.accept(receiverName: context.options.name, capabilities: secure.capabilities))
        try await Self.sendHoldings(holdings.records, on: secure)
        let acceptedAt = ContinuousClock.now

        var receiving = TransferEvent("receiving")
        receiving.transfer = transferID
        receiving.peer = senderName
        receiving.fingerprint = fingerprint
        receiving.address = remote
        receiving.files = summary.fileCount
        receiving.directories = summary.directoryCount
        receiving.totalBytes = summary.totalBytes
        receiving.names = summary.topLevelNames
        receiving.paired = mode == .known
        receiving.message = nameClash
        receiving.direction = "receive"
        context.events(receiving)

        let writer = WritePipeline(writer: OfferWriter(inbox: inbox, transferID: transferID, area: area, holdings: holdings))
        let idle = IdleWatch()
        idle.start(channel: io.channel, seconds: timeouts.idle)
        defer { idle.stop() }
        let counters = StreamCounters(rule: ProgressRule(window: timeouts.progressWindow, minimumBytes: context.options.minimumProgressBytes,
                                                         start: acceptedAt, bytesIn: io.bytesIn))
        do {
            let (files, bytes) = try await receiveEntries(secure, summary: summary, pipeline: writer, idle: idle, counters: counters, transferID: transferID)
            // Anything that arrived after END (also while the files were being finished) is
            // an error, reported instead of DONE; complete files stay, as after any failure.
            try secure.checkNothingAfterFinal()
            area?.close() // before DONE: a sender that looks right after it sees no empty area
            try? secure.enqueue(.done(files: files, bytes: bytes), final: true)
            try? await io.drain()
            var event = TransferEvent("received")
            event.transfer = transferID
            event.peer = senderName
            event.files = files
            event.bytes = bytes
            event.resumedBytes = writer.resumedBytes
            event.skippedFiles = writer.filesAlreadyPresent
            event.names = writer.placedTopLevelNames
            event.direction = "receive"
            event.seconds = (ContinuousClock.now - acceptedAt).inSeconds
            event.waitSeconds = (acceptedAt - sessionStart).inSeconds
            event.wireBytes = counters.wireBytes
            context.events(event)
        } catch let error {
            // The sender vanishing, a cut network or a cancel keeps the unfinished file for a
            // resend to continue; a disk, I/O or protocol failure removes it.
            let keep = error.kind == .unreachable || error.kind == .cancelled || idle.didFire
            await writer.abort(keepPartial: keep)
            area?.close()
            var reported = error
            if idle.didFire {
                reported = AgentError(.unreachable, "The transfer from \(DisplayEscape.escape(senderName)) stalled: nothing arrived for \(timeouts.idle) seconds (network cut?). What arrived is kept; sending again resumes.")
            }
            let failureCode: FailureCode = switch reported.kind {
            case .noSpace: .noSpace
            case .io: .ioError
            case .cancelled: .cancelled
            default: .protocolViolation
            }
            if reported.kind == .cancelled && Task.isCancelled {
                reported = AgentError(.cancelled, "The receiving agent is shutting down; what arrived is kept, and sending again resumes.")
            }
            if writer.filesCompleted > 0 {
                // Policy: complete files stay (a resend skips them); the file being written
                // stays in the partial area when `keep`, else it is removed.
                let kept = "\(writer.filesCompleted) complete file(s) were kept in \(DisplayEscape.escape(writer.placedTopLevelNames.joined(separator: ", ")))" + (keep ? "; sending again resumes." : "; the incomplete one was removed.")
                reported = AgentError(reported.kind, reported.message + " " + kept, underlying: reported)
            }
            try? secure.enqueue(.failure(failureCode, reported.message), final: true)
            await io.flushFinal()
            var event = TransferEvent.failure(reported, transfer: transferID)
            event.peer = senderName
            event.direction = "receive"
            context.events(event)
            throw reported
        }
    }

    /// Streams entries into the writer, checking the grammar with `EntryAccounting`: this
    /// task receives, decrypts and checks each frame and hands its file operations to the
    /// pipeline, which performs them on its own thread while the next frame is read.
    private func receiveEntries(_ secure: SecureChannel, summary: OfferSummary, pipeline: WritePipeline, idle: IdleWatch, counters: StreamCounters, transferID: String) async throws(AgentError) -> (UInt64, UInt64) {
        do {
            return try await receiveFrames(secure, summary: summary, pipeline: pipeline, idle: idle, counters: counters, transferID: transferID)
        } catch {
            // The writer runs behind: a failure it hit on earlier operations is the cause
            // to report, not what this task found in a later frame.
            await pipeline.drain()
            if let failure = pipeline.failure { throw Self.inboxError(failure) }
            throw error
        }
    }

    private func receiveFrames(_ secure: SecureChannel, summary: OfferSummary, pipeline: WritePipeline, idle: IdleWatch, counters: StreamCounters, transferID: String) async throws(AgentError) -> (UInt64, UInt64) {
        var accounting = EntryAccounting(summary: summary)
        var fileOpen = false
        var resumeOffset: UInt64?
        /// This frame begins a file continued from a RESUME: the claim is checked by the
        /// writer, so the frame is waited for and a refusal answered at once (a sender
        /// that lies about what the receiver holds may stop and wait for the verdict).
        var frameResumes = false
        var bytesAccounted: UInt64 = 0
        let progress = ProgressThrottle()
        /// The current frame's operations, in stream order, each checked before it is added.
        var operations: [WritePipeline.Operation] = []
        func protocolError(_ error: WireError) -> AgentError {
            AgentError(.protocolError, "Protocol error: \(error)", underlying: error)
        }
        func write(_ bytes: UnsafeRawBufferPointer) throws(AgentError) {
            do { _ = try accounting.data(count: bytes.count) } catch { throw protocolError(error) }
            operations.append(.write(bytes))
            bytesAccounted += UInt64(bytes.count)
            counters.wireBytes += UInt64(bytes.count)
            if progress.due(bytes: bytesAccounted) {
                var event = TransferEvent("progress")
                event.transfer = transferID
                event.bytes = bytesAccounted
                event.totalBytes = summary.totalBytes
                progress.addRate(to: &event)
                context.events(event)
            }
        }
        /// ENTRY and HOLE, alone or from a batch.
        func apply(_ message: StreamMessage) throws(AgentError) {
            switch message {
            case .hole(let length):
                do { _ = try accounting.hole(length: length) } catch { throw protocolError(error) }
                operations.append(.hole(length))
                bytesAccounted += length
            case .entry(let entry):
                do { _ = try accounting.beginEntry(entry) } catch { throw protocolError(error) }
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
        /// One received frame; returns END's counts after the last one.
        func handle(_ received: Received) throws(AgentError) -> (UInt64, UInt64)? {
            switch received {
            case .data(let bytes, let isFinal):
                guard !isFinal, bytes.count > 0 else { throw AgentError(.protocolError, "Protocol error: a malformed data message.") }
                try write(bytes)
            case .batch(let body, let isFinal):
                guard !isFinal else { throw AgentError(.protocolError, "Protocol error: a batch carrying the final tag.") }
                var items: StreamBatch.Reader
                do { items = try StreamBatch.Reader(body: body) } catch { throw protocolError(error) }
                while true {
                    let item: StreamBatch.Item?
                    do { item = try items.next() } catch { throw protocolError(error) }
                    guard let item else { break }
                    switch item {
                    case .data(let bytes): try write(bytes)
                    case .message(let message): try apply(message)
                    }
                }
            case .message(.hole(let length), false):
                try apply(.hole(length))
            case .message(.entry(let entry), false):
                try apply(.entry(entry))
            case .message(.resume(let offset), false):
                // Always a message of its own (never in a BATCH): the next ENTRY continues
                // a held partial file from `offset`.
                do { try accounting.resume(offset: offset) } catch { throw protocolError(error) }
                resumeOffset = offset
            case .message(.end(let files, let bytes), true):
                do { try accounting.end(files: files, bytes: bytes) } catch { throw protocolError(error) }
                // END is the last message: anything already behind it is an error, found
                // before the last file is finished.
                try secure.checkNothingAfterFinal()
                if fileOpen { operations.append(.finishFile) }
                operations.append(.finishAll)
                return (files, bytes)
            case .message(.failure(let code, let text), _):
                switch code {
                case .cancelled: throw AgentError(.cancelled, "The sender cancelled the transfer. What arrived is kept; sending again resumes.")
                case .ioError: throw AgentError(.io, "The sender stopped: \(DisplayEscape.escape(text))")
                default: throw AgentError(.protocolError, "The sender stopped: \(DisplayEscape.escape(text))")
                }
            default:
                throw AgentError(.protocolError, "Protocol error: an unexpected message during the transfer.")
            }
            return nil
        }
        while true {
            // Waits on this side's own disk do not count against the sender's progress.
            let waitStart = ContinuousClock.now
            let buffer: WritePipeline.Buffer
            do { buffer = try await pipeline.acquire() } catch { throw Self.inboxError(error) }
            counters.rule.exclude(ContinuousClock.now - waitStart)
            let received: Received
            do {
                received = try await secure.receive(waitingFor: "file data", into: buffer.bytes)
            } catch {
                pipeline.release(buffer)
                throw error
            }
            idle.touch()
            operations = []
            frameResumes = false
            let finished: (UInt64, UInt64)?
            do {
                // END itself is never too late: the transfer is complete with it.
                if case .message(_, true) = received {} else { try counters.rule.check(bytesIn: secure.io.bytesIn) }
                finished = try handle(received)
            } catch {
                // What was checked before the error is written, as if it had come alone.
                pipeline.submit(buffer, operations)
                throw error
            }
            pipeline.submit(buffer, operations)
            if frameResumes {
                let drainStart = ContinuousClock.now
                await pipeline.drain()
                counters.rule.exclude(ContinuousClock.now - drainStart)
                if let failure = pipeline.failure { throw Self.inboxError(failure) }
            }
            if let finished {
                await pipeline.drain()
                if let failure = pipeline.failure { throw Self.inboxError(failure) }
                return finished
            }
        }
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

    /// The pins, read once per session before M1 is answered. An unreadable or corrupt trust
    /// store ends the session and is shown to the person here: taking it for "no pins" would
    /// turn every paired sender into a stranger asked to pair again.
    private func readPins(io: FrameIO, transferID: String) async throws(AgentError) -> [PinnedPeer] {
        do {
            return try context.trust.all()
        } catch {
            await io.sendAbort(.busy, "the receiver cannot read its list of paired devices")
            var event = TransferEvent.failure(error, transfer: transferID)
            event.direction = "receive"
            context.events(event)
            throw error
        }
    }

    /// A refused M5 is a security matter when its signature or confirmation tag is wrong
    /// (someone without the key, or a man in the middle), a protocol error otherwise.
    static func m5AbortReason(_ error: HandshakeError) -> AbortFrame.Reason {
        error == .badSignature || error == .confirmationFailed ? .security : .protocolError
    }

    /// The abort text for a refused M5: the real cause, for the sender's person.
    static func m5AbortText(_ error: HandshakeError, m5: [UInt8]) -> String {
        switch error {
        case .unexpectedMessage: "a handshake message out of turn: expected M5 (the key confirmation), got message type \(m5.first ?? 0)"
        case .badSignature: "the key confirmation (M5) failed: bad signature"
        case .confirmationFailed: "the key confirmation (M5) failed: wrong confirmation tag"
        default: "the key confirmation (M5) was refused: \(error)"
        }
    }

    /// The abort text for an M3 that is refused: the real cause, for the sender's person.
    static func m3AbortText(_ error: HandshakeError, m3: [UInt8]) -> String {
        switch error {
        case .unexpectedMessage:
            "a handshake message out of turn: expected M3 (the offer), got message type \(m3.first ?? 0)"
        case .malformed(let detail):
            "a malformed M3 (the offer): \(detail)"
        case .summaryUndecryptable:
            "the offer summary in M3 failed authentication (tampered with on the way?)"
        case .invalidPoint:
            "M3 carries an invalid pairing value"
        default:
            "M3 (the offer) refused: \(error)"
        }
    }

    /// An error message without its "Protocol error: " prefix (for texts that add their own).
    static func withoutPrefix(_ message: String) -> String {
        let prefix = "Protocol error: "
        return message.hasPrefix(prefix) ? String(message.dropFirst(prefix.count)) : message
    }

    /// What a received message is, for errors ("ENTRY", "DATA", "OFFER with the final tag").
    static func describe(_ received: Received) -> String {
        switch received {
        case .data(_, let isFinal): "DATA" + (isFinal ? " with the final tag" : "")
        case .batch(_, let isFinal): "BATCH" + (isFinal ? " with the final tag" : "")
        case .message(let message, let isFinal): message.name.uppercased() + (isFinal ? " with the final tag" : "")
        }
    }

    static func inboxError(_ error: InboxError) -> AgentError {
        switch error.code {
        case .noSpace: AgentError(.noSpace, "The disk is full: \(error.message)", underlying: error)
        case .io: AgentError(.io, error.message, underlying: error)
        default: AgentError(.protocolError, error.message, underlying: error)
        }
    }

    private func makeOffer(id: String, summary: OfferSummary, fingerprint: String, remote: String, needsCode: Bool, pins: [PinnedPeer]) -> PendingOffer {
        PendingOffer(
            id: id, peer: summary.senderName, fingerprint: fingerprint, address: remote, needsCode: needsCode,
            files: summary.fileCount, directories: summary.directoryCount, bytes: summary.totalBytes,
            names: summary.topLevelNames, moreNames: summary.moreTopLevelNames,
            expires: Date().addingTimeInterval(context.options.timeouts.pairingWait),
            warning: nameWarning(claimed: summary.senderName, key: fingerprint, pins: pins))
    }

    /// A warning when `claimed` is the name of a paired device with another key: names are
    /// only hints, and a known name arriving with a new key is a different device.
    private func nameWarning(claimed: String, key fingerprint: String, pins: [PinnedPeer]) -> String? {
        guard let other = pins.first(where: { $0.name == claimed && $0.fingerprint != fingerprint }) else {
            return nil
        }
        return "A paired device is already named \"\(DisplayEscape.escape(claimed))\" with another key (\(other.fingerprint)). This offer comes from a different device (\(fingerprint)); check the fingerprint with the sender before you accept."
    }

    /// Registers the offer, tells every terminal, and waits for the person (or the timeout,
    /// or the sender going away).
    private func waitForPerson(_ offer: PendingOffer, io: FrameIO, onBoard: () -> Void) async -> Decision {
        if let refusal = await context.offers.add(offer) {
            return .busy(refusal)
        }
        onBoard()
        announce("offer", offer, message: offer.warning)
        let offers = context.offers
        let id = offer.id
        io.channel.closeFuture.whenComplete { _ in Task { await offers.resolve(id, .withdrawn) } }
        let timer = Task {
            try? await Task.sleep(for: .seconds(context.options.timeouts.pairingWait))
            await offers.resolve(id, .expired)
        }
        defer { timer.cancel() }
        return await offers.wait(id)
    }

    private func announce(_ name: String, _ offer: PendingOffer, message: String?) {
        var event = TransferEvent(name)
        event.offer = offer.id
        event.peer = offer.peer
        event.fingerprint = offer.fingerprint
        event.address = offer.address
        event.needsCode = offer.needsCode
        event.files = offer.files
        event.directories = offer.directories
        event.totalBytes = offer.bytes
        event.names = offer.names
        event.expiresIn = offer.expires.timeIntervalSinceNow
        event.message = message
        context.events(event)
    }
}

/// Human-readable byte counts (binary units) for messages and progress.
public enum ByteCount {
    public static func format(_ bytes: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : "\(String(format: "%.1f", value)) \(units[unit])"
    }
}
