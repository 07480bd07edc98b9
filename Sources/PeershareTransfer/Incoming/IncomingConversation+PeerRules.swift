import NIOConcurrencyHelpers
import PeershareCore

/// The inbox one session writes to: the agent's, until the peer is known and turns out to
/// have a folder of its own (`PeerInbox`).
final class ChosenInbox: Sendable {
    private let current: NIOLockedValueBox<InboxDirectory>

    init(_ inbox: InboxDirectory) { current = NIOLockedValueBox(inbox) }

    var directory: InboxDirectory { current.withLockedValue { $0 } }

    func replace(with inbox: InboxDirectory) { current.withLockedValue { $0 = inbox } }
}

extension IncomingConversation {
    /// Switches this session to `peerName`'s own inbox when its policy or the inbox template
    /// gives one (made with mode 0700 if missing). Called once the peer is proven, so an
    /// unauthenticated offer never creates a folder. Nil when that worked or there is none;
    /// a folder that cannot be made or opened refuses the offer as an unwritable inbox does.
    func usePeerInbox(_ peerName: String, policy: PeerPolicy?) -> UnwritableInbox? {
        guard let path = PeerInbox.path(template: context.options.inboxTemplate, policyInbox: policy?.inbox, peerName: peerName) else {
            return nil
        }
        do {
            chosen.replace(with: try InboxDirectory(path: path))
            return nil
        } catch {
            let failure = AgentError(.io, "the inbox \(DisplayEscape.escape(path)) for \"\(DisplayEscape.escape(peerName))\" cannot be used (\(error.message)); fix it, then the sender can send again")
            publishRefusal(failure, peer: peerName, transferID: transferID)
            return UnwritableInbox(told: "its inbox for you cannot be used", error: failure)
        }
    }

    /// Refuses (REFUSE "declined", so the sender exits 4) an offer that a paired peer's policy
    /// does not allow: `accept never`, or larger than its `max-size`. Said as an `error`
    /// event (kind `declined`) for the terminal and the history.
    func enforcePolicy(_ policy: PeerPolicy?, summary: OfferSummary, senderName: String,
                       secure: SecureChannel) async throws(AgentError) {
        guard let policy, let reason = policy.refusal(bytes: summary.totalBytes) else { return }
        try? await secure.send(.refuse(.declined, reason), final: true)
        publishRefusal(AgentError(.declined, "declined by the policy for this peer: \(reason)."), peer: senderName, transferID: transferID) {
            $0.files = summary.fileCount
            $0.totalBytes = summary.totalBytes
            $0.names = summary.topLevelNames
        }
        throw AgentError(.declined, "Refused by the policy for \(DisplayEscape.escape(senderName)): \(reason).")
    }
}
