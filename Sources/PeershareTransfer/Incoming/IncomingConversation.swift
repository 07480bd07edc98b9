import Logging
import PeershareCore

/// One incoming session on an open connection, step by step: the handshake (with the
/// person's code in PAIR mode), the offer, the pin, the person's yes under `--ask-paired`,
/// then the transfer. Each step is a method in one of the `IncomingConversation+` files.
struct IncomingConversation {
    let context: SessionContext
    /// The inbox in use: the agent's, or the peer's own once it is known (`PeerInbox`).
    var inbox: InboxDirectory { chosen.directory }
    let chosen: ChosenInbox
    let io: FrameIO
    let transferID: String
    /// The peer's IP address, for messages and the failed-pairing limiter.
    let remote: String
    let logger: Logger
    let ticket: HandshakeTicket

    var timeouts: Timeouts { context.options.timeouts }

    func run() async throws(AgentError) {
        let sessionStart = ContinuousClock.now
        let shaken = try await shakeHands()
        ticket.leave()
        context.proven(shaken.outcome.peerIdentity, .incoming(io.channel.remoteAddress))

        // Authenticated from here on, and still checked.
        let secure = try await SecureChannel.establish(io: io, version: shaken.outcome.version, sendKey: shaken.outcome.sendKey,
                                                       receiveKey: shaken.outcome.receiveKey, timeout: timeouts.handshakeStep)
        // A paired peer's probe (HELLO) is answered and ends here.
        guard let summary = try await receiveOffer(secure, shaken) else { return }
        let nameClash = try pinSender(summary, shaken)
        let pin = shaken.mode == .known ? PinnedPeer.pin(forKey: shaken.outcome.peerIdentity, in: shaken.pins) : nil
        let peerName = pin.map { $0.name.isEmpty ? summary.senderName : $0.name } ?? summary.senderName
        try await enforcePolicy(pin?.policy, summary: summary, senderName: peerName, secure: secure)
        // A peer's own folder is made only now, once the peer is proven (paired, or the code
        // matched): an unauthenticated offer never creates anything in the inbox.
        if let refusal = usePeerInbox(peerName, policy: pin?.policy)
            ?? (shaken.mode == .known ? unwritableInbox(senderName: summary.senderName) : nil) {
            try? await secure.send(.refuse(.ioError, refusal.told), final: true)
            throw refusal.error
        }
        if shaken.mode == .known && PeerPolicy.asks(pin?.policy, askPaired: context.options.askPaired) {
            try await askPerson(secure, summary, shaken)
        }
        try await transfer(secure, summary: summary, shaken: shaken, nameClash: nameClash, sessionStart: sessionStart)
    }
}

/// What the handshake established, for the steps after it.
struct Handshaken {
    var outcome: HandshakeOutcome
    var mode: HandshakeMode
    /// The sender's identity key, as a fingerprint.
    var fingerprint: String
    /// The pins, read once per session before M1 was answered.
    var pins: [PinnedPeer]
    /// PAIR: the summary the person approved (the OFFER must repeat it byte for byte).
    var summaryBytes: [UInt8]?
    /// PAIR: the sender's name as the M3 summary claims it, for messages before the OFFER.
    var claimedName: String?
}
