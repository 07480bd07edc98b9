import Foundation
import Logging
import NIOCore
import PeershareCore
import SodiumKit

/// What a finished send reports.
public struct SendResult: Sendable {
    public var files: UInt64
    public var bytes: UInt64
    /// From acceptance (the receiver's ACCEPT) to its DONE.
    public var seconds: Double
    public var paired: Bool
    /// From the start of the send to acceptance (connecting, handshake, the person's approval).
    public var waitSeconds: Double = 0
    /// File bytes sent as DATA (not holes, not what the receiver already held).
    public var wireBytes: UInt64 = 0
    /// Resume: the file bytes that actually travelled, and those the receiver already held.
    public var sentBytes: UInt64 = 0
    public var resumedBytes: UInt64 = 0
    /// Files the receiver already had complete (not sent), and files continued part-way.
    public var skippedFiles: UInt64 = 0
    public var resumedFiles: UInt64 = 0
}

/// The sending side of one session (the crypto_kx client): dial, handshake (showing the
/// pairing code when the receiver needs one), offer, then stream every entry and its data
/// with no round trip per file, and wait for the receiver's confirmation that everything
/// was written.
package struct SenderSession {
    let identity: SigningKeyPair
    let name: String
    let trust: any PinStore
    let plan: SendPlan
    /// Addresses to try in order (a discovered peer may have several).
    let addresses: [PeerAddress]
    /// The identity key the peer must hold (from discovery), checked in the handshake.
    let expectedKey: [UInt8]?
    let transferID: String
    let events: EventSink
    let logger: Logger
    let timeouts: Timeouts
    let progress: ProgressThrottle
    /// Emit a `file` event per regular file (`send -v`).
    var fileEvents = false
    /// Told the receiver's key and the address once the handshake proved it (address book).
    let noteProven: @Sendable ([UInt8], ProvenAt) -> Void

    /// `context.events` hears every event of this send.
    package init(context: SessionContext, plan: SendPlan, addresses: [PeerAddress], expectedKey: [UInt8]?,
                 transferID: String, fileEvents: Bool) {
        self.identity = context.identity
        self.name = context.options.name
        self.trust = context.trust
        self.plan = plan
        self.addresses = addresses
        self.expectedKey = expectedKey
        self.transferID = transferID
        self.events = context.events
        self.logger = context.logger
        self.timeouts = context.options.timeouts
        self.progress = ProgressThrottle()
        self.fileEvents = fileEvents
        self.noteProven = context.proven
    }

    package func run(group: any EventLoopGroup) async throws(AgentError) -> SendResult {
        let start = ContinuousClock.now
        var event = TransferEvent("sending")
        event.transfer = transferID
        event.address = addresses.first?.description
        event.addresses = addresses.map(\.description)
        event.files = plan.fileCount
        event.directories = plan.directoryCount
        event.totalBytes = plan.totalBytes
        event.names = plan.topLevelNames
        events(event)

        // Anyone can announce a peer's key: each address is tried until one proves the key
        // in the handshake; one that shows another key is skipped, and its security error
        // is the answer only if no address proves the key.
        var remaining = addresses[...]
        var refused: AgentError?
        while true {
            let (channel, limit, address): (FramedChannel, FrameLimit, PeerAddress)
            do {
                (channel, limit, address) = try await Connections.connect(toFirstOf: Array(remaining), group: group)
            } catch {
                throw refused ?? error
            }
            // Dials overlap, so the winner need not be the first address: only it is done.
            remaining.removeAll { $0 == address }
            var proven = false
            do {
                return try await attempt(channel, limit: limit, address: address, start: start, group: group, proven: &proven)
            } catch where error.kind != .cancelled && expectedKey != nil && !proven && !remaining.isEmpty {
                // Nothing was sent before the key was proven, so another address is safe to try.
                reportSkipped(address, error)
                if error.kind == .security || refused == nil { refused = error }
            } catch where refused?.kind == .security && !proven {
                throw refused ?? error
            }
        }
    }

    /// Logs (as a security warning) and shows that `address` did not prove the key.
    private func reportSkipped(_ address: PeerAddress, _ error: AgentError) {
        logger.warning("security: the host at this address did not prove the peer's key; trying its next address",
                       metadata: ["net.address": "\(address)", "error": "\(error.message)"])
        var warning = TransferEvent("warning")
        warning.transfer = transferID
        warning.address = address.description
        warning.message = "The host at \(address) did not prove this peer's identity key (an impostor, or an old address); trying the peer's next address."
        events(warning)
    }

    /// The send at one address. A paired receiver that answered at an address it was never
    /// reached at (another address family, a new DHCP lease) proves nothing by its key in M2,
    /// so the same address is dialled again asking KNOWN for that key: the handshake proves it.
    /// A receiver that refused this side's protocol version is dialled once more with the
    /// highest version both speak (docs/PROTOCOL.md, Versions); so at most three connections.
    private func attempt(_ channel: FramedChannel, limit: FrameLimit, address: PeerAddress, start: ContinuousClock.Instant,
                         group: any EventLoopGroup, proven: inout Bool) async throws(AgentError) -> SendResult {
        var (channel, limit) = (channel, limit)
        var redialKey: [UInt8]?
        var version = ProtocolVersion.highest
        while true {
            switch try await session(channel, limit: limit, address: address, redialKey: redialKey, version: version,
                                     start: start, proven: &proven) {
            case .finished(let result):
                return result
            case .pinnedKeyAnswered(let key):
                guard redialKey == nil else {
                    throw AgentError(.protocolError, "Protocol error: the receiver at \(address) answered a paired session as a stranger.")
                }
                redialKey = key
            case .versionRefused(let lower):
                guard version == .highest else {
                    throw AgentError(.protocolError, "The receiver at \(address) refused protocol \(version) too. Update peershare on both machines.")
                }
                logger.info("the receiver speaks an older protocol; dialling again", metadata: ["net.address": "\(address)", "protocol.version": "\(lower)"])
                version = lower
            }
            (channel, limit, _) = try await Connections.connect(toFirstOf: [address], group: group)
        }
    }

    /// How one connection ended: the transfer finished, a pinned key answered a PAIR request
    /// at an unpinned address (then this side dials again in KNOWN mode), or the receiver
    /// refused M1's version and speaks `lower` (then this side dials again offering it).
    private enum Conversation {
        case finished(SendResult)
        case pinnedKeyAnswered([UInt8])
        case versionRefused(lower: ProtocolVersion)
    }

    /// One connection; `redialKey` is the pin to ask KNOWN for when dialling again. `proven`
    /// turns true once the receiver's key passed every check, after which no failure may be
    /// retried at another address.
    private func session(_ channel: FramedChannel, limit: FrameLimit, address: PeerAddress, redialKey: [UInt8]?,
                         version: ProtocolVersion, start: ContinuousClock.Instant, proven: inout Bool) async throws(AgentError) -> Conversation {
        do {
            return try await channel.executeThenClose { inbound, _ in
                let io = FrameIO(channel: channel.channel, inbound: inbound, limit: limit)
                let pinned = try redialKey ?? pinnedKey(at: address)
                return try await converse(io: io, address: address, pinned: pinned, version: version, start: start, proven: &proven)
            }
        } catch let error as AgentError {
            throw error
        } catch {
            throw AgentError(.general, "The transfer failed: \(error)", underlying: error)
        }
    }

    /// A peer found by discovery is known by the key it advertises; an address typed by
    /// hand, by the pin last reached there. An unreadable trust store stops the send.
    private func pinnedKey(at address: PeerAddress) throws(AgentError) -> [UInt8]? {
        if let expectedKey {
            try trust.pin(forKey: expectedKey)?.keyBytes
        } else {
            try trust.pin(forAddress: address.description)?.keyBytes
        }
    }

    private func converse(io: FrameIO, address: PeerAddress, pinned: [UInt8]?, version: ProtocolVersion,
                          start: ContinuousClock.Instant, proven: inout Bool) async throws(AgentError) -> Conversation {
        let summary = OfferSummary(
            senderName: name,
            fileCount: plan.fileCount,
            directoryCount: plan.directoryCount,
            symlinkCount: plan.symlinkCount,
            totalBytes: plan.totalBytes,
            topLevelNames: Array(plan.topLevelNames.prefix(WireLimits.maxTopLevelNamesInSummary)),
            moreTopLevelNames: UInt64(max(0, plan.topLevelNames.count - WireLimits.maxTopLevelNamesInSummary)))
        let summaryBytes = summary.encode()
        var handshake = SenderHandshake(identity: identity, pinnedReceiver: pinned, summary: summaryBytes, version: version)

        // M1, M2
        let m1: [UInt8]
        do { m1 = try handshake.makeM1() } catch { throw .handshake(error) }
        try await io.send(m1)
        let m2: [UInt8]
        switch try await io.readHandshakeReply("the receiver's reply", seconds: timeouts.handshakeStep) {
        case .message(let bytes):
            m2 = bytes
        case .abort(let abort):
            if let lower = abort.lowerVersion(than: version) { return .versionRefused(lower: lower) }
            throw abort.asError
        }
        let step: SenderStep
        do {
            step = try handshake.handleM2(m2)
        } catch {
            await io.sendAbort(error == .pinMismatch || error == .downgrade ? .security : .protocolError, "handshake refused")
            throw .handshake(error)
        }
        let receiverKey = handshake.receiverIdentity ?? []
        // Pins are looked up by key, not by the address string: a paired receiver reached at
        // a new address is dialled again in KNOWN mode rather than asked for a code.
        if pinned == nil, expectedKey == nil, case .pairing = step, try trust.pin(forKey: receiverKey) != nil {
            await io.sendAbort(.cancelled, "dialling again as a paired peer")
            return .pinnedKeyAnswered(receiverKey)
        }
        // A pin is never replaced silently: whoever answers where a paired peer was must hold
        // the pinned key, in KNOWN mode (checked by the handshake) and in a fall-back to
        // pairing alike; otherwise it is another device, perhaps an impostor.
        if let pinned, !ConstantTime.equal(pinned, receiverKey) {
            await io.sendAbort(.security, "identity key differs from the paired one")
            throw AgentError(.security, "Security check failed: the peer at \(address) holds identity key \(Fingerprint.full(of: receiverKey)), not the paired \(Fingerprint.full(of: pinned)). It may be another device or an impostor. Nothing was sent. If that machine was reinstalled, run `peershare forget \(Fingerprint.short(of: pinned))` and send again to pair with a code.")
        }
        if let expectedKey, !ConstantTime.equal(expectedKey, receiverKey) {
            await io.sendAbort(.security, "identity key differs from the advertised one")
            throw AgentError(.security, "Security check failed: the peer that answered does not hold the identity key it advertised. Nothing was sent.")
        }
        proven = true
        var connected = TransferEvent("connected")
        connected.transfer = transferID
        connected.fingerprint = Fingerprint.full(of: receiverKey)
        connected.address = address.description
        connected.paired = { if case .known = step { true } else { false } }()
        events(connected)

        // M3 (PAIR only), M4
        switch step {
        case .pairing(let code, let m3):
            if handshake.fellBackToPairing {
                var warning = TransferEvent("warning")
                warning.transfer = transferID
                warning.message = "The receiver no longer knows this device: pairing again with a code."
                events(warning)
            }
            try await io.send(m3)
            var shown = TransferEvent("code")
            shown.transfer = transferID
            shown.code = code.digits
            shown.expiresIn = timeouts.pairingWait
            events(shown)
        case .known:
            break
        }
        var waiting = TransferEvent("waiting")
        waiting.transfer = transferID
        events(waiting)
        let m4: [UInt8]
        do {
            m4 = try await io.readHandshakeMessage("the receiver to approve", seconds: timeouts.pairingWait)
        } catch where error.kind == .cancelled {
            io.enqueue(AbortFrame(reason: .cancelled, text: "the sender cancelled").encode())
            await io.flushFinal()
            throw AgentError(.cancelled, "Cancelled before the receiver approved.")
        }
        let outcome: HandshakeOutcome
        let m5: [UInt8]
        do {
            (m5, outcome) = try handshake.handleM4(m4)
        } catch {
            await io.sendAbort(error == .confirmationFailed ? .wrongCode : .security, "pairing failed")
            throw .handshake(error)
        }
        try await io.send(m5)
        noteProven(outcome.peerIdentity, .dialled(address))
        if outcome.mode == .pair {
            // Pairing succeeded: pin now, even if the offer is refused later. The receiver's
            // name comes only with its ACCEPT, so a new pin has none until then. (A KNOWN
            // session's pin is refreshed once, when the receiver accepts.)
            try trust.remember(key: outcome.peerIdentity, name: nil, address: address.description)
        }

        // Encrypted streams: offer, answer, entries, end, confirmation.
        let secure = try await SecureChannel.establish(io: io, version: outcome.version, sendKey: outcome.sendKey,
                                                       receiveKey: outcome.receiveKey, timeout: timeouts.handshakeStep)
        try await secure.send(.offer(summary, capabilities: .implemented))
        let holdings: SenderHoldings
        var acceptedAt = ContinuousClock.now
        switch try await secure.receive(waitingFor: "the receiver's answer") {
        case .message(.accept(let receiverName, let agreed), false):
            secure.capabilities = agreed.intersection(.implemented)
            holdings = try await SenderHoldings.receive(secure)
            // Now that the receiver said its name, the pin (made right after the handshake
            // under the address) carries it.
            do {
                try trust.remember(key: outcome.peerIdentity, name: receiverName, address: address.description)
            } catch {
                logger.warning("cannot refresh the pin", metadata: ["error": "\(error.message)"])
            }
            acceptedAt = ContinuousClock.now
            var accepted = TransferEvent("accepted")
            accepted.peer = receiverName
            accepted.transfer = transferID
            events(accepted)
        case .message(.refuse(let reason, let text), _):
            throw Self.refusal(reason, text)
        case .message(.failure(let code, let text), _):
            throw Self.failure(code, text)
        default:
            throw AgentError(.protocolError, "Protocol error: the receiver answered the offer with something else.")
        }
        var counters = ResumeCounters()
        do {
            counters = try await streamEntries(secure, holdings: holdings)
        } catch let error {
            // A receiver that stops mid-stream says why in its final message; prefer that reason.
            if error.kind == .unreachable, let reason = await Self.finalReason(secure) { throw reason }
            // A source file that failed queued its FAILURE for the receiver: send it.
            if error.kind == .io { await io.flushFinal() }
            if error.kind == .cancelled {
                try? secure.enqueue(.failure(.cancelled, "The sender cancelled the transfer."), final: true)
                await io.flushFinal()
                throw AgentError(.cancelled, "Cancelled: the receiver was told. It keeps what arrived; sending the same files again resumes.")
            }
            throw error
        }
        io.timer.arm(seconds: timeouts.confirmation, reason: "waiting for the receiver to confirm")
        defer { io.timer.disarm() }
        switch try await secure.receive(waitingFor: "the receiver's confirmation") {
        case .message(.done(let files, let bytes), true):
            guard files == plan.fileCount, bytes == plan.totalBytes else {
                throw AgentError(.protocolError, "The receiver confirmed \(files) files and \(bytes) bytes, but \(plan.fileCount) files and \(plan.totalBytes) bytes were sent.")
            }
            return .finished(SendResult(files: files, bytes: bytes, seconds: (ContinuousClock.now - acceptedAt).inSeconds, paired: outcome.mode == .pair,
                              waitSeconds: (acceptedAt - start).inSeconds, wireBytes: counters.wireBytes,
                              sentBytes: bytes - min(bytes, counters.resumedBytes), resumedBytes: counters.resumedBytes,
                              skippedFiles: counters.skippedFiles, resumedFiles: counters.resumedFiles))
        case .message(.failure(let code, let text), _):
            throw Self.failure(code, text)
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
        for (index, entry) in plan.entries.enumerated() {
            if Task.isCancelled { throw AgentError(.cancelled, "Cancelled.") }
            // Resume: a file the receiver holds complete is not sent; one it holds the
            // start of (same prefix hash) continues from there.
            if let held = holdings.prefixToCheck(for: entry, sender: identity.publicKey) {
                var checking = TransferEvent("checking")
                checking.transfer = transferID
                checking.file = entry.path.string
                checking.bytes = held
                events(checking)
            }
            let resumeFrom = holdings.isEmpty ? 0 : holdings.resumeOffset(for: entry, source: plan.sources[index], sender: identity.publicKey)
            if resumeFrom > 0 { try secure.enqueue(.resume(offset: resumeFrom)) }
            try secure.enqueue(.entry(entry))
            if entry.kind == .file && resumeFrom == entry.size && resumeFrom > 0 {
                counters.skippedFiles += 1
                counters.resumedBytes += resumeFrom
                sentBytes += resumeFrom
                sentFiles += 1
                reportFile(entry, resumedFrom: resumeFrom)
                try await secure.io.flushIfLarge()
                continue
            }
            guard entry.kind == .file else {
                try await secure.io.flushIfLarge()
                continue
            }
            let source: FileSource
            do {
                source = try FileSource(path: plan.sources[index], expectedSize: entry.size, directories: directories)
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
            reading: while true {
                var piece = FilePiece.end
                var readError: SendError?
                _ = try secure.enqueueData(expected: entry.size - min(fileBytes, entry.size)) { buffer throws(AgentError) in
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
                switch piece {
                case .data(let count):
                    fileBytes += UInt64(count)
                    counters.wireBytes += UInt64(count)
                case .hole(let length):
                    try secure.enqueue(.hole(length))
                    fileBytes += length
                case .end:
                    break reading
                }
                try await secure.io.flushIfLarge()
                if progress.due(bytes: sentBytes + fileBytes) {
                    var event = TransferEvent("progress")
                    event.transfer = transferID
                    event.bytes = sentBytes + fileBytes
                    event.totalBytes = plan.totalBytes
                    event.file = entry.path.string
                    progress.addRate(to: &event)
                    events(event)
                }
                if Task.isCancelled { throw AgentError(.cancelled, "Cancelled.") }
            }
            sentBytes += fileBytes
            sentFiles += 1
            reportFile(entry, resumedFrom: resumeFrom)
        }
        try secure.enqueue(.end(files: sentFiles, bytes: sentBytes), final: true)
        do {
            try await secure.io.drain()
        } catch where idle.didFire {
            throw AgentError(.unreachable, "The transfer stalled: the receiver read nothing for \(timeouts.idle) seconds (network cut?).")
        }
        return counters
    }

    /// A `file` event for `send -v`: the file is queued whole (`resumedBytes` absent),
    /// continued from `resumedBytes`, or skipped (`resumedBytes` equal to its size).
    private func reportFile(_ entry: Entry, resumedFrom: UInt64) {
        guard fileEvents else { return }
        var event = TransferEvent("file")
        event.transfer = transferID
        event.file = entry.path.string
        event.bytes = entry.size
        event.resumedBytes = resumedFrom > 0 ? resumedFrom : nil
        events(event)
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
            if case .message(.failure(let code, let text), _) = received { return failure(code, text) }
            if case .message(_, true) = received { return nil }
        }
        return nil
    }

    /// The receiver's refusal as this side's error. A cancel by the receiver (its person, or
    /// its agent shutting down) is a lost peer, exit 3; only this side's Ctrl-C is 130.
    static func refusal(_ reason: RefusalReason, _ text: String) -> AgentError {
        let shown = DisplayEscape.escape(text)
        switch reason {
        case .declined: return AgentError(.declined, "The receiver declined the offer.")
        case .noSpace: return AgentError(.noSpace, "The receiver does not have enough free space: \(shown)")
        case .expired: return AgentError(.expired, "The offer expired before the receiver approved it. Send again.")
        case .wrongCode: return AgentError(.wrongCode, "Pairing failed: the code did not match. Send again and type the new code.")
        case .ioError: return AgentError(.io, "The receiver cannot write the files: \(shown)")
        case .cancelled: return AgentError(.unreachable, "The receiver stopped: \(shown)")
        case .busy: return AgentError(.busy, "The receiver is busy (\(shown)). Try again in a few minutes.")
        default: return AgentError(.declined, "The receiver refused the offer: \(shown)")
        }
    }

    static func failure(_ code: FailureCode, _ text: String) -> AgentError {
        let shown = DisplayEscape.escape(text)
        switch code {
        case .noSpace: return AgentError(.noSpace, "The receiver ran out of space: \(shown)")
        case .ioError: return AgentError(.io, "The receiver could not write the files: \(shown)")
        case .cancelled: return AgentError(.unreachable, "The receiver stopped: \(shown)")
        default: return AgentError(.protocolError, "The receiver stopped the transfer: \(shown)")
        }
    }
}

/// The limits on every wait, in seconds (documented in the man page).
public struct Timeouts: Sendable {
    /// Each pre-authentication handshake step.
    public var handshakeStep: Double = 15
    /// How long a pairing code (sender) or a pending offer (receiver) stays valid.
    public var pairingWait: Double = 300
    /// How long the receiver may take to confirm after the last byte.
    public var confirmation: Double = 300
    /// Silence tolerated while a transfer is streaming (a cut network is reported after this).
    public var idle: Int64 = 30
    /// The receiver's minimum-progress window: each such period of streaming must bring at
    /// least `AgentOptions.minimumProgressBytes`.
    public var progressWindow: Double = 30

    public init() {}
}
