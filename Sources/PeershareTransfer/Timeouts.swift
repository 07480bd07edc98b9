/// The limits on every wait, in seconds (documented in the man page).
public struct Timeouts: Sendable {
    /// Each pre-authentication handshake step.
    public var handshakeStep: Double = 15
    /// How long a pairing code (sender) or a pending offer (receiver) stays valid.
    public var pairingWait: Double = 300
    /// How long the receiver may take to confirm after the last byte.
    public var confirmation: Double = 300
    /// Silence tolerated while a transfer is streaming (a cut network is reported after this).
    public var idle: Int64 = 30
    /// The receiver's minimum-progress window: each such period of streaming must bring at
    /// least `AgentOptions.minimumProgressBytes`.
    public var progressWindow: Double = 30

    public init() {}
}
