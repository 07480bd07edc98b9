import PeershareCore
import SodiumKit

/// The handshake, M1 to M5. Everything here is unauthenticated and hostile until M5 checks.
extension IncomingConversation {
    func shakeHands() async throws(AgentError) -> Handshaken {
        let m1 = try await io.readHandshakeMessage("the first handshake message", seconds: timeouts.handshakeStep)
        let pins = try await readPins()
        var handshake = ReceiverHandshake(identity: context.identity, isPinned: { key in PinnedPeer.pin(forKey: key, in: pins) != nil },
                                          draws: context.draws)
        let (mode, senderKey) = try await answerM1(m1, &handshake)
        let fingerprint = Fingerprint.full(of: senderKey)
        var shakenSummary: (bytes: [UInt8], claimedName: String)?
        var code: PairingCode?
        if mode == .pair {
            let (summary, plain) = try await readSummary(&handshake)
            shakenSummary = (plain, summary.senderName)
            code = try await waitForCode(summary, fingerprint: fingerprint, pins: pins)
        }
        let outcome = try await confirmKeys(&handshake, code: code, mode: mode, senderKey: senderKey, pins: pins)
        return Handshaken(outcome: outcome, mode: mode, fingerprint: fingerprint, pins: pins,
                          summaryBytes: shakenSummary?.bytes, claimedName: shakenSummary?.claimedName)
    }

    /// The sources the failed-pairing limiter counts: the address and the identity key.
    private func sources(_ senderKey: [UInt8]) -> [String] { [remote, Hex.encode(senderKey)] }

    /// M1 → M2; a pairing attempt from a source with too many recent failures is refused.
    private func answerM1(_ m1: [UInt8], _ handshake: inout ReceiverHandshake) async throws(AgentError) -> (HandshakeMode, [UInt8]) {
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
        if mode == .pair, let wait = context.admission.pairingBlocked(sources: sources(senderKey)) {
            let minutes = Int((wait / 60).rounded(.up))
            await io.sendAbort(.busy, "too many failed pairing attempts; try again in \(minutes) minute(s)")
            throw AgentError(.busy, "Refused a pairing attempt from \(remote): too many failures recently.")
        }
        try await io.send(m2)
        if mode == .known { ticket.progressed() }
        return (mode, senderKey)
    }

    /// PAIR: M3 carries the summary the person needs to decide (decoded, and as it came).
    private func readSummary(_ handshake: inout ReceiverHandshake) async throws(AgentError) -> (OfferSummary, [UInt8]) {
        let m3 = try await io.readHandshakeMessage("the offer", seconds: timeouts.handshakeStep)
        do {
            let plain = try handshake.handleM3(m3)
            let summary = try OfferSummary.decode(plain)
            ticket.progressed()
            return (summary, plain)
        } catch let error as HandshakeError {
            await io.sendAbort(.protocolError, Self.m3AbortText(error, m3: m3))
            throw .handshake(error)
        } catch {
            await io.sendAbort(.protocolError, "bad offer summary")
            throw AgentError(.protocolError, "Refused an offer from \(remote): \(error)")
        }
    }

    /// PAIR: the offer goes on the board and the person types the code (or does not).
    private func waitForCode(_ summary: OfferSummary, fingerprint: String, pins: [PinnedPeer]) async throws(AgentError) -> PairingCode {
        if let refusal = unwritableInbox(senderName: summary.senderName) {
            // Before the code there is no REFUSE: the abort's closest reason is "busy"
            // (not accepting offers right now); its text says why.
            await io.sendAbort(.busy, refusal.told)
            throw refusal.error
        }
        let offer = makeOffer(summary: summary, fingerprint: fingerprint, needsCode: true, pins: pins)
        let decision = await waitForPerson(offer, onBoard: ticket.leave)
        if case .code(let typed) = decision { return typed }
        guard let refusal = unapproved(decision, offer) else {
            // Approved without the code (`peershare accept` without CODE).
            await io.sendAbort(.protocolError, "a pairing code is required")
            throw AgentError(.usage, "This offer needs the pairing code.")
        }
        if let told = refusal.told { await io.sendAbort(Failure.abortReason(for: told.reason), told.text) }
        if let closed = refusal.closed { announce(offer, closed: closed) }
        throw refusal.error
    }

    /// M4 → M5: key confirmation. In PAIR mode, a failure here is a wrong guess.
    private func confirmKeys(_ handshake: inout ReceiverHandshake, code: PairingCode?, mode: HandshakeMode,
                             senderKey: [UInt8], pins: [PinnedPeer]) async throws(AgentError) -> HandshakeOutcome {
        do {
            let m4 = try handshake.makeM4(code: code)
            try await io.send(m4)
            let m5 = try await io.readHandshakeMessage("the sender's confirmation", seconds: timeouts.handshakeStep)
            do {
                return try handshake.handleM5(m5)
            } catch {
                // The sender is told why, as for every other refused handshake message. This
                // tells a guesser nothing: M4 already showed it whether its code was right.
                await io.sendAbort(Self.m5AbortReason(error), Self.m5AbortText(error, m5: m5))
                throw error
            }
        } catch let error {
            reportFailedConfirmation(error, mode: mode, senderKey: senderKey, pins: pins)
            if let handshakeError = error as? HandshakeError { throw .handshake(handshakeError) }
            if let agentError = error as? AgentError, mode == .pair, agentError.kind == .unreachable || agentError.kind == .wrongCode {
                throw AgentError(.wrongCode, "Pairing with \(remote) failed: wrong code.")
            }
            throw (error as? AgentError) ?? AgentError(.general, "\(error)")
        }
    }

    /// A failed PAIR confirmation counts against the limiter and is shown; a paired key that
    /// failed it is shown as a possible impostor.
    private func reportFailedConfirmation(_ error: any Error, mode: HandshakeMode, senderKey: [UInt8], pins: [PinnedPeer]) {
        let fingerprint = Fingerprint.full(of: senderKey)
        if mode == .pair {
            context.admission.recordPairingFailure(sources: sources(senderKey))
            context.events(TransferEvent(.pairingFailed(AgentEvent.PairingFailed(
                offer: transferID, fingerprint: fingerprint, address: remote,
                message: "Pairing failed: wrong code (or the connection was tampered with). The sender must send again."))))
        }
        if mode == .known, let handshakeError = error as? HandshakeError,
           handshakeError == .badSignature || handshakeError == .confirmationFailed {
            // Someone used a paired peer's key without holding it (an impostor or a man
            // in the middle): the person here is told, as the sender's person is; no
            // one else would notice. Nothing was received and the pin is unchanged.
            let name = PinnedPeer.pin(forKey: senderKey, in: pins)?.name ?? fingerprint
            var failed = AgentEvent.Failed(AgentError(.security, "A session from \(remote) claimed to be the paired peer \"\(DisplayEscape.escape(name))\" (\(Fingerprint.short(of: senderKey))) but failed authentication (\(handshakeError == .badSignature ? "bad signature" : "wrong confirmation tag")): someone may be impersonating it. Nothing was received."), transfer: transferID)
            (failed.peer, failed.fingerprint, failed.address) = (name, fingerprint, remote)
            context.events(TransferEvent(.error(failed), direction: .receive))
        }
    }

    /// The pins, read once per session before M1 is answered. An unreadable or corrupt trust
    /// store ends the session and is shown to the person here: taking it for "no pins" would
    /// turn every paired sender into a stranger asked to pair again.
    private func readPins() async throws(AgentError) -> [PinnedPeer] {
        do {
            return try context.trust.all()
        } catch {
            await io.sendAbort(.busy, "the receiver cannot read its list of paired devices")
            context.events(.failure(error, transfer: transferID, direction: .receive))
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
}
