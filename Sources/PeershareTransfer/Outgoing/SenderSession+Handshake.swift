import PeershareCore
import SodiumKit

/// The sender's handshake: M1 and M2 (whose key must be the one expected), then the code
/// for the person (PAIR), M4 and M5.
extension SenderSession {
    /// How M2 was answered: the handshake goes on, a pinned key answered a PAIR request at
    /// an unpinned address (then this side dials again in KNOWN mode), or the receiver
    /// refused M1's version and speaks `lower` (docs/PROTOCOL.md, Versions).
    enum Opening {
        case answered(SenderStep)
        case pinnedKeyAnswered([UInt8])
        case versionRefused(ProtocolVersion)
    }

    /// M1 → M2, and the checks on the receiver's key. `proven` turns true once it passed.
    func openHandshake(_ io: FrameIO, _ handshake: inout SenderHandshake, address: PeerAddress, pinned: [UInt8]?,
                       proven: inout Bool) async throws(AgentError) -> Opening {
        let m1: [UInt8]
        do { m1 = try handshake.makeM1() } catch { throw .handshake(error) }
        try await io.send(m1)
        let m2: [UInt8]
        switch try await io.readHandshakeReply("the receiver's reply", seconds: timeouts.handshakeStep) {
        case .message(let bytes):
            m2 = bytes
        case .abort(let abort):
            if let lower = abort.lowerVersion(than: handshake.version) { return .versionRefused(lower) }
            throw Failure.abort(abort)
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
        try await checkKey(io, receiverKey, pinned: pinned, address: address)
        proven = true
        let paired = if case .known = step { true } else { false }
        events(TransferEvent(.connected(AgentEvent.Connected(
            transfer: transferID, fingerprint: Fingerprint.full(of: receiverKey), address: address.description, paired: paired))))
        return .answered(step)
    }

    /// A pin is never replaced silently: whoever answers where a paired peer was must hold
    /// the pinned key, in KNOWN mode (checked by the handshake) and in a fall-back to
    /// pairing alike; otherwise it is another device, perhaps an impostor.
    private func checkKey(_ io: FrameIO, _ receiverKey: [UInt8], pinned: [UInt8]?, address: PeerAddress) async throws(AgentError) {
        if let pinned, !ConstantTime.equal(pinned, receiverKey) {
            await io.sendAbort(.security, "identity key differs from the paired one")
            throw AgentError(.security, "Security check failed: the peer at \(address) holds identity key \(Fingerprint.full(of: receiverKey)), not the paired \(Fingerprint.full(of: pinned)). It may be another device or an impostor. Nothing was sent. If that machine was reinstalled, run `peershare forget \(Fingerprint.short(of: pinned))` and send again to pair with a code.")
        }
        if let expectedKey, !ConstantTime.equal(expectedKey, receiverKey) {
            await io.sendAbort(.security, "identity key differs from the advertised one")
            throw AgentError(.security, "Security check failed: the peer that answered does not hold the identity key it advertised. Nothing was sent.")
        }
    }

    /// M3 with the code shown (PAIR only), then the wait for M4 and the answer M5. A new
    /// pairing is pinned at once.
    func finishHandshake(_ io: FrameIO, _ handshake: inout SenderHandshake, step: SenderStep,
                         address: PeerAddress) async throws(AgentError) -> HandshakeOutcome {
        if case .pairing(let code, let m3) = step {
            if handshake.fellBackToPairing {
                events(TransferEvent(.warning(AgentEvent.Warning(
                    transfer: transferID, message: "The receiver no longer knows this device: pairing again with a code."))))
            }
            try await io.send(m3)
            events(TransferEvent(.code(AgentEvent.CodeShown(transfer: transferID, code: code.digits, expiresIn: timeouts.pairingWait))))
        }
        events(TransferEvent(.waiting(transfer: transferID)))
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
        return outcome
    }
}
