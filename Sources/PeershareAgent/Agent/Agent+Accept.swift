import PeershareCore
import PeershareTransfer

extension Agent {
    /// Approves an offer (as `accept`) and waits for what came of it, so that the person who
    /// typed `peershare accept CODE` is told, not sent to the agent's terminal (which, for an
    /// agent run as a service, is the journal).
    ///
    /// Returns the offer once its transfer started (the code matched, the offer was
    /// accepted). Throws `.wrongCode` for a wrong code; the refusal's own error when the
    /// offer was refused after the code matched (e.g. not enough space); `.expired` or
    /// `.unreachable` when the offer expired or its sender withdrew it meanwhile. A session
    /// reports one of these within its handshake deadlines (the sender's confirmation, the
    /// secure channel, the offer: three steps); the wait is bounded by that plus a margin.
    public func acceptAndWait(code: PairingCode?, offerID: String?) async throws(AgentError) -> PendingOffer {
        let (events, end) = hub.makeSubscription()
        defer { end() }
        let offer = try await accept(code: code, offerID: offerID)
        let limit = options.timeouts.handshakeStep * 3 + 5
        let timer = Task {
            try? await Task.sleep(for: .seconds(limit))
            end()
        }
        defer { timer.cancel() }
        for await event in events {
            if let outcome = Self.outcome(of: offer, event) {
                if let error = outcome { throw error }
                return offer
            }
        }
        throw AgentError(.general, "The \(offer.needsCode ? "code was passed on" : "offer was accepted"), but the agent did not report the outcome within \(Int(limit)) seconds; see its terminal or log.")
    }

    /// Nil when `event` says nothing about `offer`; else `.some(nil)` for a started transfer,
    /// or the error that ended the offer.
    private static func outcome(of offer: PendingOffer, _ event: TransferEvent) -> AgentError?? {
        let name = "\"\(DisplayEscape.escape(offer.peer))\""
        switch event.what {
        case .receiving(let receiving) where receiving.transfer == offer.id:
            return .some(nil)
        case .pairingFailed(let failed) where failed.offer == offer.id:
            return AgentError(.wrongCode, "Wrong code: the offer \(offer.id) from \(name) was declined. The sender can send again and you type the new code.")
        case .error(let failed) where failed.transfer == offer.id, .sessionEnded(let failed) where failed.transfer == offer.id:
            return AgentError(failed.errorKind ?? .general, "The offer \(offer.id) from \(name) was refused: \(failed.message)")
        case .offerClosed(let closed) where closed.offer == offer.id:
            if closed.message == "expired" {
                return AgentError(.expired, "The offer \(offer.id) from \(name) expired before it was approved.")
            }
            return AgentError(.unreachable, "The offer \(offer.id) from \(name) is gone: \(closed.message ?? "closed").")
        default:
            return nil
        }
    }
}
