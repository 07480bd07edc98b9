import PeershareCore

/// Every mapping between the forms a failure takes, in one place: the peer's words (an
/// ABORT reason before the keys are confirmed, a REFUSE reason or a FAILURE code after) become
/// this side's `AgentError`; this side's error becomes the FAILURE code the peer is told; and
/// each `AgentError.Kind` has its exit status (documented in README and the man page).
///
/// A peer cancelling (or shutting down) is a lost peer for this side, not this person's
/// Ctrl-C: exit 3, never 130.
package enum Failure {
    /// The error this side reports for the peer's ABORT frame.
    static func abort(_ frame: AbortFrame) -> AgentError {
        let shown = DisplayEscape.escape(frame.text)
        switch frame.reason {
        case .declined: return AgentError(.declined, "The receiver declined the offer.")
        case .wrongCode: return AgentError(.wrongCode, "Pairing failed: the code did not match. Ask the sender to send again and type the new code.")
        case .expired: return AgentError(.expired, "The offer expired before it was approved. Send again.")
        case .busy: return AgentError(.busy, "The receiver is not accepting offers right now: \(shown)")
        case .cancelled: return AgentError(.unreachable, "The other side stopped: \(shown)")
        case .security: return AgentError(.security, "The other side stopped for a security reason: \(shown)")
        case .protocolError: return AgentError(.protocolError, "The other side reported a protocol error: \(shown)")
        }
    }

    /// The ABORT reason for a refusal made before the keys are confirmed (PAIR mode, while
    /// the offer waits for the code), where there is no REFUSE yet.
    static func abortReason(for reason: RefusalReason) -> AbortFrame.Reason {
        switch reason {
        case .declined: .declined
        case .expired: .expired
        case .wrongCode: .wrongCode
        case .cancelled: .cancelled
        case .badOffer: .protocolError
        case .busy, .noSpace, .ioError: .busy
        }
    }

    /// The sender's error for the receiver's REFUSE.
    static func refusal(_ reason: RefusalReason, _ text: String) -> AgentError {
        let shown = DisplayEscape.escape(text)
        switch reason {
        case .declined: return AgentError(.declined, "The receiver declined the offer.")
        case .noSpace: return AgentError(.noSpace, "The receiver does not have enough free space: \(shown)")
        case .expired: return AgentError(.expired, "The offer expired before the receiver approved it. Send again.")
        case .wrongCode: return AgentError(.wrongCode, "Pairing failed: the code did not match. Send again and type the new code.")
        case .ioError: return AgentError(.io, "The receiver cannot write the files: \(shown)")
        case .cancelled: return AgentError(.unreachable, "The receiver stopped: \(shown)")
        case .busy: return AgentError(.busy, "The receiver is busy (\(shown)). Try again in a few minutes.")
        default: return AgentError(.declined, "The receiver refused the offer: \(shown)")
        }
    }

    /// The sender's error for the receiver's FAILURE.
    static func fromReceiver(_ code: FailureCode, _ text: String) -> AgentError {
        let shown = DisplayEscape.escape(text)
        switch code {
        case .noSpace: return AgentError(.noSpace, "The receiver ran out of space: \(shown)")
        case .ioError: return AgentError(.io, "The receiver could not write the files: \(shown)")
        case .cancelled: return AgentError(.unreachable, "The receiver stopped: \(shown)")
        default: return AgentError(.protocolError, "The receiver stopped the transfer: \(shown)")
        }
    }

    /// What a sender can say the receiver kept when it cannot hear the receiver's own
    /// account (PROTOCOL.md §6): a file of up to 64 KiB cut off is sent again whole.
    static let whatTheReceiverKeeps = "The receiver keeps the files it got complete and what arrived of a file over 64 KiB; sending the same files again sends only the rest."

    /// The receiver's error for the sender's FAILURE.
    static func fromSender(_ code: FailureCode, _ text: String) -> AgentError {
        switch code {
        case .cancelled: AgentError(.cancelled, "The sender cancelled the transfer.")
        case .ioError: AgentError(.io, "The sender stopped: \(DisplayEscape.escape(text))")
        default: AgentError(.protocolError, "The sender stopped: \(DisplayEscape.escape(text))")
        }
    }

    /// The FAILURE code the receiver sends for its own error.
    static func failureCode(for kind: AgentError.Kind) -> FailureCode {
        switch kind {
        case .noSpace: .noSpace
        case .io: .ioError
        case .cancelled: .cancelled
        default: .protocolViolation
        }
    }

    /// The receiver's error for a failure of its writer.
    static func inbox(_ error: InboxError) -> AgentError {
        switch error.code {
        case .noSpace: AgentError(.noSpace, "The disk is full: \(error.message)", underlying: error)
        case .io: AgentError(.io, error.message, underlying: error)
        default: AgentError(.protocolError, error.message, underlying: error)
        }
    }

    /// The sender's error for what it was asked to send: wrong (usage), or unreadable (I/O).
    package static func plan(_ error: SendError) -> AgentError {
        let kind: AgentError.Kind = switch error.code {
        case .notFound, .duplicateName, .invalidName, .unsupportedType: .usage
        case .unreadable, .changedWhileSending, .io: .io
        }
        return AgentError(kind, error.message, underlying: error)
    }
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

extension AgentError.Kind {
    /// The process exit status for this class of failure.
    public var exitCode: Int32 {
        switch self {
        case .general: 1
        case .usage: 2
        case .unreachable: 3
        case .declined: 4
        case .wrongCode: 5
        case .expired: 6
        case .noSpace: 7
        case .io: 8
        case .security, .protocolError: 9
        case .noAgent: 10
        case .busy: 11
        case .partial: 12
        case .cancelled: 130
        }
    }
}
