import PeershareCore
import SodiumKit

extension IncomingConversation {
    /// Answers a paired peer's probe (HELLO, protocol 1.1): this side's name and the
    /// capabilities it agrees to, as the final message. The handshake already proved the
    /// key and recorded the address; nothing is offered, nothing lands in the inbox, and
    /// the person is not disturbed (a probe is routine: it is logged at debug level).
    func answerProbe(_ secure: SecureChannel, offered: Capabilities, sender: [UInt8]) async {
        secure.capabilities = Capabilities.agreed(offered: offered)
        try? await secure.send(.hello(name: context.options.name, capabilities: secure.capabilities), final: true)
        logger.debug("answered a probe", metadata: ["peer.fingerprint": "\(Fingerprint.short(of: sender))"])
    }
}
