import PeershareCore

extension IncomingConversation {
    /// An offer refused because the inbox does not take files: what the sender is told and
    /// the error this side ends the session with.
    struct UnwritableInbox {
        /// For the sender; without the inbox's path, which is this machine's business.
        var told: String
        var error: AgentError
    }

    /// Nil when files can be created in the inbox. Otherwise the offer is refused before the
    /// person is asked (no code typed in vain, and no "not enough space" later): the
    /// refusal is published for the agent's terminal and `--json` listeners, naming the
    /// inbox and the cause.
    func unwritableInbox(senderName: String) -> UnwritableInbox? {
        guard let problem = inbox.writeProblem() else { return nil }
        let error = AgentError(.io, "the inbox \(DisplayEscape.escape(inbox.path)) is not writable (\(problem)); fix its permissions, then the sender can send again")
        publishRefusal(error, peer: senderName, transferID: transferID)
        return UnwritableInbox(told: "its inbox is not writable (\(problem))", error: error)
    }

    /// An `error` event for an offer this side refused (the terminal, `events` clients and
    /// the history hear of it); `adjust` adds what else the event should carry.
    func publishRefusal(_ error: AgentError, peer: String?, transferID: String, _ adjust: (inout AgentEvent.Failed) -> Void = { _ in }) {
        var failed = AgentEvent.Failed(error, transfer: transferID)
        failed.peer = peer
        adjust(&failed)
        context.events(TransferEvent(.error(failed), direction: .receive))
    }
}
