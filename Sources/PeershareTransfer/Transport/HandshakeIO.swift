import PeershareCore

/// Handshake-phase helpers shared by both roles: reading one handshake message (which may
/// instead be the peer's abort notice) under a deadline, and mapping handshake errors to
/// what the person is told.
extension FrameIO {
    /// Reads one handshake message within `seconds`. An abort frame from the peer becomes
    /// its error; anything over the handshake cap was already refused by the decoder.
    func readHandshakeMessage(_ what: String, seconds: Double) async throws(AgentError) -> [UInt8] {
        switch try await readHandshakeReply(what, seconds: seconds) {
        case .message(let bytes): return bytes
        case .abort(let abort): throw abort.asError
        }
    }

    /// Reads one handshake message within `seconds`, or the peer's abort as it is (a sender
    /// whose M1 was refused for its version reads the versions the receiver speaks from it).
    func readHandshakeReply(_ what: String, seconds: Double) async throws(AgentError) -> HandshakeReply {
        timer.arm(seconds: seconds, reason: "waiting for \(what)")
        defer { timer.disarm() }
        let frame = try await readFrame(waitingFor: what)
        let bytes = Array(frame.readableBytesView)
        if bytes.first == AbortFrame.type {
            guard let abort = AbortFrame.decode(bytes) else {
                throw AgentError(.protocolError, "Protocol error: a malformed abort message.")
            }
            return .abort(abort)
        }
        return .message(bytes)
    }

    /// Tells the peer why this side stops, best effort (the connection may already be gone).
    func sendAbort(_ reason: AbortFrame.Reason, _ text: String) async {
        try? await send(AbortFrame(reason: reason, text: text).encode())
    }
}

/// A handshake message, or the peer's abort instead of it.
enum HandshakeReply {
    case message([UInt8])
    case abort(AbortFrame)
}

extension AgentError {
    /// The person-facing error for a failed handshake step.
    static func handshake(_ error: HandshakeError) -> AgentError {
        switch error {
        case .confirmationFailed:
            return AgentError(.wrongCode, "Pairing failed: the code did not match (or someone tampered with the connection). Send again and type the new code.", underlying: error)
        case .pinMismatch:
            return AgentError(.security, "Security check failed: the peer at this address holds a different identity key than the one paired before. It may be another device or an impostor; if it was reinstalled, run `peershare forget` for it and pair again.", underlying: error)
        case .downgrade:
            return AgentError(.security, "Security check failed: the peer tried to skip pairing (downgrade). The session was stopped.", underlying: error)
        case .unsupportedVersion:
            return AgentError(.protocolError, "The peer speaks an unsupported protocol version (\(error)). Update peershare on both machines.", underlying: error)
        default:
            return AgentError(.security, "The handshake failed: \(error)", underlying: error)
        }
    }
}
