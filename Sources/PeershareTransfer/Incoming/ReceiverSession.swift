import Logging
import NIOCore
import PeershareCore

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
        let ticket = HandshakeTicket(admission: context.admission, slot: slot)
        defer { ticket.leave() }
        do {
            try await channel.executeThenClose { inbound, _ in
                let io = FrameIO(channel: channel.channel, inbound: inbound, limit: limit, timer: timer)
                let conversation = IncomingConversation(context: context, chosen: ChosenInbox(inbox), io: io, transferID: transferID,
                                                        remote: remote, logger: logger, ticket: ticket)
                try await conversation.run()
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
        TransferEvent(.sessionEnded(AgentEvent.Failed(error, transfer: transfer)), direction: .receive)
    }
}

/// A connection's unauthenticated-connection slot, held from accept until the key
/// confirmation or until its offer is on the offer board (which caps waiting offers itself).
///
/// Used only by the task that runs the session.
final class HandshakeTicket {
    private let admission: Admission
    private let slot: UInt64
    private var held = true

    init(admission: Admission, slot: UInt64) {
        self.admission = admission
        self.slot = slot
    }

    /// The peer showed it is real: its slot can no longer be evicted.
    func progressed() { admission.handshakeStarted(slot) }

    /// The connection no longer counts as one in the handshake (a second call does nothing).
    func leave() {
        guard held else { return }
        held = false
        admission.leaveHandshake(slot)
    }
}
