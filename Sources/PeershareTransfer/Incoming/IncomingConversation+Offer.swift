import Foundation
import PeershareCore

/// The offer on the secure channel, the pin it refreshes, and the person's decisions.
extension IncomingConversation {
    /// The first message on the secure channel: an OFFER, identical to the summary the
    /// person approved in PAIR mode; or, in a KNOWN session of protocol 1.1, a probe (HELLO),
    /// answered here (then nil).
    func receiveOffer(_ secure: SecureChannel, _ shaken: Handshaken) async throws(AgentError) -> OfferSummary? {
        io.timer.arm(seconds: timeouts.handshakeStep, reason: "waiting for the offer")
        let first: Received
        do {
            first = try await secure.receive(waitingFor: "the offer")
        } catch where error.kind == .protocolError || error.kind == .security {
            try await refuseBadOffer(secure, shaken, error)
        }
        io.timer.disarm()
        if shaken.mode == .known, case .message(.hello(_, let offered), true) = first {
            await answerProbe(secure, offered: offered, sender: shaken.outcome.peerIdentity)
            return nil
        }
        guard case .message(.offer(let summary, let offered), false) = first else {
            let text = "bad offer: expected an OFFER without the final tag, got \(Self.describe(first))"
            try? await secure.send(.refuse(.badOffer, text), final: true)
            throw AgentError(.protocolError, "Protocol error from \(remote): \(text).")
        }
        if let summaryBytes = shaken.summaryBytes, summary.encode() != summaryBytes {
            try? await secure.send(.failure(.protocolViolation, "the offer differs from the one approved"), final: true)
            throw AgentError(.security, "The offer from \(remote) differs from the one the person approved; stopped.")
        }
        secure.capabilities = Capabilities.agreed(offered: offered)
        return summary
    }

    /// An offer that does not decode is refused (REFUSE 5, bad offer) with the reason; one
    /// that failed authentication (altered on the way) ends the stream with a FAILURE, as any
    /// such frame does. Either way this side's stream is intact, so the sender can read why.
    /// An altered one is also shown to the person here, who may just have typed the code and
    /// would otherwise see nothing happen (a fixed text; only a peer that passed the
    /// handshake gets this far).
    private func refuseBadOffer(_ secure: SecureChannel, _ shaken: Handshaken, _ error: AgentError) async throws(AgentError) -> Never {
        if error.kind == .security {
            try? secure.enqueue(.failure(.protocolViolation, "bad offer: \(error.message)"), final: true)
        } else {
            try? secure.enqueue(.refuse(.badOffer, "bad offer: \(Self.withoutPrefix(error.message))"), final: true)
        }
        await io.flushFinal()
        if error.kind == .security {
            publishRefusal(error, peer: shaken.claimedName ?? PinnedPeer.pin(forKey: shaken.outcome.peerIdentity, in: shaken.pins)?.name,
                           transferID: transferID)
        }
        throw error
    }

    /// Pins the sender (PAIR) or refreshes its pin (KNOWN). A paired peer may rename itself,
    /// but not to the name of another paired device: then its pin keeps its old name, and
    /// the returned warning tells the person.
    func pinSender(_ summary: OfferSummary, _ shaken: Handshaken) throws(AgentError) -> String? {
        let senderName = summary.senderName
        let nameClash = shaken.mode == .known ? nameWarning(claimed: senderName, key: shaken.fingerprint, pins: shaken.pins) : nil
        let pinnedName = nameClash == nil ? senderName : (PinnedPeer.pin(forKey: shaken.outcome.peerIdentity, in: shaken.pins)?.name ?? senderName)
        if shaken.mode == .pair {
            try context.trust.remember(key: shaken.outcome.peerIdentity, name: pinnedName, address: nil)
        } else {
            // Only the name and last-seen time are refreshed; the pin itself was proven.
            do {
                try context.trust.remember(key: shaken.outcome.peerIdentity, name: pinnedName, address: nil)
            } catch {
                logger.warning("cannot refresh the pin", metadata: ["error": "\(error.message)"])
            }
        }
        return nameClash
    }

    /// `--ask-paired`: a paired sender's offer waits for the person's yes.
    func askPerson(_ secure: SecureChannel, _ summary: OfferSummary, _ shaken: Handshaken) async throws(AgentError) {
        let offer = makeOffer(summary: summary, fingerprint: shaken.fingerprint, needsCode: false, pins: shaken.pins)
        guard let refusal = unapproved(await waitForPerson(offer, onBoard: {}), offer) else { return }
        if let told = refusal.told { try? await secure.send(.refuse(told.reason, told.text), final: true) }
        if let closed = refusal.closed { announce(offer, closed: closed) }
        throw refusal.error
    }

    /// How an offer the person did not approve ends (nil when approved): what the sender is
    /// told (nil when it left), what the offer's listeners are told (`offer-closed`), and
    /// this side's error.
    func unapproved(_ decision: Decision, _ offer: PendingOffer) -> (told: (reason: RefusalReason, text: String)?, closed: String?, error: AgentError)? {
        let name = DisplayEscape.escape(offer.peer)
        switch decision {
        case .decline:
            return ((.declined, "declined"), "declined", AgentError(.declined, "Declined the offer from \(name)."))
        case .expired:
            return ((.expired, "expired"), "expired", AgentError(.expired, "The offer from \(name) expired."))
        case .withdrawn:
            return (nil, "withdrawn by the sender", AgentError(.cancelled, "The sender withdrew the offer."))
        case .busy(let reason):
            return ((.busy, reason), nil, AgentError(.busy, "Refused an offer from \(remote): \(reason)."))
        case .evicted(let reason):
            return ((.busy, "evicted: \(reason)"), "removed to make room for an offer from another address",
                    AgentError(.busy, "Removed the offer from \(remote) to make room: \(reason)."))
        case .approve, .code:
            return nil
        }
    }

    func makeOffer(summary: OfferSummary, fingerprint: String, needsCode: Bool, pins: [PinnedPeer]) -> PendingOffer {
        PendingOffer(
            id: transferID, peer: summary.senderName, fingerprint: fingerprint, address: remote, needsCode: needsCode,
            files: summary.fileCount, directories: summary.directoryCount, bytes: summary.totalBytes,
            names: summary.topLevelNames, moreNames: summary.moreTopLevelNames,
            expires: Date().addingTimeInterval(timeouts.pairingWait),
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
    func waitForPerson(_ offer: PendingOffer, onBoard: () -> Void) async -> Decision {
        if let refusal = await context.offers.add(offer) {
            return .busy(refusal)
        }
        onBoard()
        announce(offer, closed: nil)
        let offers = context.offers
        let id = offer.id
        io.channel.closeFuture.whenComplete { _ in Task { await offers.resolve(id, .withdrawn) } }
        let timer = Task { [timeouts] in
            try? await Task.sleep(for: .seconds(timeouts.pairingWait))
            await offers.resolve(id, .expired)
        }
        defer { timer.cancel() }
        return await offers.wait(id)
    }

    /// `offer` when it is shown (its message is the offer's warning), `offer-closed` with
    /// why it `closed`.
    func announce(_ offer: PendingOffer, closed: String?) {
        let shown = AgentEvent.OfferShown(
            offer: offer.id, peer: offer.peer, fingerprint: offer.fingerprint, address: offer.address, needsCode: offer.needsCode,
            files: offer.files, directories: offer.directories, totalBytes: offer.bytes, names: offer.names,
            expiresIn: offer.expires.timeIntervalSinceNow, message: closed ?? offer.warning)
        context.events(TransferEvent(closed == nil ? .offer(shown) : .offerClosed(shown)))
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
}
