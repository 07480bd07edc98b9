import PeershareCore

/// Handshake-phase helpers shared by both roles: reading one handshake message (which may
/// instead be the peer's abort notice) under a deadline, and telling the peer why this side
/// stops.
extension FrameIO {
    /// Reads one handshake message within `seconds`. An abort frame from the peer becomes
    /// its error; anything over the handshake cap was already refused by the decoder.
    func readHandshakeMessage(_ what: String, seconds: Double) async throws(AgentError) -> [UInt8] {
        switch try await readHandshakeReply(what, seconds: seconds) {
        case .message(let bytes): return bytes
        case .abort(let abort): throw Failure.abort(abort)
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
