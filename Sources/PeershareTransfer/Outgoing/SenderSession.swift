import Foundation
import Logging
import NIOCore
import PeershareCore
import SodiumKit

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
    /// Fixed handshake values for a replayed session (none in an agent).
    let draws: HandshakeDraws
    /// Emit a `file` event per regular file (`send -v`).
    var fileEvents = false
    /// The send is a text (`send --text`, `send -`): its one file may go as TEXT when the
    /// receiver agrees to the `text` capability.
    package var sendsText = false
    /// Told the receiver's key and the address once the handshake proved it (address book).
    let noteProven: @Sendable ([UInt8], ProvenAt) -> Void
    /// The rate limits this send keeps to (its own, the agent's total); empty: none.
    let rateLimits: [RateLimiter]

    /// `context.events` hears every event of this send.
    package init(context: SessionContext, plan: SendPlan, addresses: [PeerAddress], expectedKey: [UInt8]?,
                 transferID: String, fileEvents: Bool, rateLimits: [RateLimiter] = []) {
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
        self.draws = context.draws
        self.fileEvents = fileEvents
        self.noteProven = context.proven
        self.rateLimits = rateLimits
    }

    package func run(group: any EventLoopGroup) async throws(AgentError) -> SendResult {
        let start = ContinuousClock.now
        events(TransferEvent(.sending(AgentEvent.Sending(
            transfer: transferID, address: addresses.first?.description, addresses: addresses.map(\.description),
            files: plan.fileCount, directories: plan.directoryCount, totalBytes: plan.totalBytes, names: plan.topLevelNames))))

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
        events(TransferEvent(.warning(AgentEvent.Warning(
            transfer: transferID, address: address.description,
            message: "The host at \(address) did not prove this peer's identity key (an impostor, or an old address); trying the peer's next address."))))
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
        let summary = offerSummary()
        var handshake = SenderHandshake(identity: identity, pinnedReceiver: pinned, summary: summary.encode(), draws: draws, version: version)
        let step: SenderStep
        switch try await openHandshake(io, &handshake, address: address, pinned: pinned, proven: &proven) {
        case .pinnedKeyAnswered(let key): return .pinnedKeyAnswered(key)
        case .versionRefused(let lower): return .versionRefused(lower: lower)
        case .answered(let answered): step = answered
        }
        let outcome = try await finishHandshake(io, &handshake, step: step, address: address)

        // Encrypted streams: offer, answer, entries, end, confirmation.
        let secure = try await SecureChannel.establish(io: io, version: outcome.version, sendKey: outcome.sendKey,
                                                       receiveKey: outcome.receiveKey, timeout: timeouts.handshakeStep)
        let (holdings, acceptedAt) = try await offer(summary, on: secure, receiver: outcome.peerIdentity, address: address)
        let counters = try await stream(secure, holdings: holdings)
        let (files, bytes) = try await confirmation(secure)
        return .finished(SendResult(files: files, bytes: bytes, seconds: (ContinuousClock.now - acceptedAt).inSeconds, paired: outcome.mode == .pair,
                                    waitSeconds: (acceptedAt - start).inSeconds, wireBytes: counters.wireBytes,
                                    sentBytes: bytes - min(bytes, counters.resumedBytes), resumedBytes: counters.resumedBytes,
                                    skippedFiles: counters.skippedFiles, resumedFiles: counters.resumedFiles))
    }

    /// The summary M3 and the OFFER carry.
    private func offerSummary() -> OfferSummary {
        OfferSummary(
            senderName: name,
            fileCount: plan.fileCount,
            directoryCount: plan.directoryCount,
            symlinkCount: plan.symlinkCount,
            totalBytes: plan.totalBytes,
            topLevelNames: Array(plan.topLevelNames.prefix(WireLimits.maxTopLevelNamesInSummary)),
            moreTopLevelNames: UInt64(max(0, plan.topLevelNames.count - WireLimits.maxTopLevelNamesInSummary)))
    }
}
