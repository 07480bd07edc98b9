/// What happened, typed. The agent's terminal, `send`, the history and the control server
/// switch on these cases; `TransferEvent` carries one with its time and direction, and
/// `EventRecord` is its JSON form (one flat object per line, unchanged for scripts).
///
/// Senders see: sending, connected, code, waiting, accepted, checking, progress, warning,
/// file, done, error. Receivers see: offer, offer-closed, checking, receiving, progress,
/// received, error, pairing-failed, session-ended. The agent adds peer-appeared, peer-left
/// and discovery.
public enum AgentEvent: Sendable, Equatable {
    case sending(Sending)
    case connected(Connected)
    case code(CodeShown)
    case waiting(transfer: String)
    case accepted(transfer: String, peer: String)
    /// Before held bytes are read and hashed for a resume.
    case checking(Checking)
    case progress(Progress)
    case warning(Warning)
    /// `send -v`: one regular file queued whole, continued, or skipped.
    case file(FileSent)
    case done(Done)
    case error(Failed)
    case offer(OfferShown)
    case offerClosed(OfferShown)
    case receiving(Receiving)
    case received(Received)
    case pairingFailed(PairingFailed)
    /// The last word on a receiving session that failed, whichever step it failed in.
    case sessionEnded(Failed)
    case peerAppeared(PeerSeen)
    case peerLeft(PeerSeen)
    case discovery(message: String)
    /// An event this build does not know (from a newer agent on the control socket), kept
    /// as it came so that it is passed on unchanged.
    case other(EventRecord)

    /// The event's name in JSON (`"event"`).
    public var name: String {
        switch self {
        case .sending: "sending"
        case .connected: "connected"
        case .code: "code"
        case .waiting: "waiting"
        case .accepted: "accepted"
        case .checking: "checking"
        case .progress: "progress"
        case .warning: "warning"
        case .file: "file"
        case .done: "done"
        case .error: "error"
        case .offer: "offer"
        case .offerClosed: "offer-closed"
        case .receiving: "receiving"
        case .received: "received"
        case .pairingFailed: "pairing-failed"
        case .sessionEnded: "session-ended"
        case .peerAppeared: "peer-appeared"
        case .peerLeft: "peer-left"
        case .discovery: "discovery"
        case .other(let record): record.event
        }
    }

    /// The transfer (or offer) the event is about, if any.
    public var transfer: String? {
        switch self {
        case .sending(let e): e.transfer
        case .connected(let e): e.transfer
        case .code(let e): e.transfer
        case .waiting(let transfer), .accepted(let transfer, _): transfer
        case .checking(let e): e.transfer
        case .progress(let e): e.transfer
        case .warning(let e): e.transfer
        case .file(let e): e.transfer
        case .done(let e): e.transfer
        case .error(let e), .sessionEnded(let e): e.transfer
        case .offer(let e), .offerClosed(let e): e.offer
        case .receiving(let e): e.transfer
        case .received(let e): e.transfer
        case .pairingFailed(let e): e.offer
        case .peerAppeared, .peerLeft, .discovery: nil
        case .other(let record): record.transfer ?? record.offer
        }
    }
}

extension AgentEvent {
    public struct Sending: Sendable, Equatable {
        public var transfer: String
        /// The first address to try; `addresses` lists all, in order.
        public var address: String?
        public var addresses: [String]
        public var files: UInt64
        public var directories: UInt64
        public var totalBytes: UInt64
        public var names: [String]
    }

    public struct Connected: Sendable, Equatable {
        public var transfer: String
        public var fingerprint: String
        public var address: String
        public var paired: Bool
    }

    public struct CodeShown: Sendable, Equatable {
        public var transfer: String
        public var code: String
        public var expiresIn: Double
    }

    /// The sender names the `file`; the receiver says from whom (`peer`) and how many `files`.
    public struct Checking: Sendable, Equatable {
        public var transfer: String
        public var bytes: UInt64
        public var file: String?
        public var peer: String?
        public var files: UInt64?
    }

    /// `rate` (bytes per second over the last few seconds) and `eta` (seconds left at that
    /// rate) are absent until two samples a moment apart exist, `eta` also when the rate is 0.
    public struct Progress: Sendable, Equatable {
        public var transfer: String
        public var bytes: UInt64
        public var totalBytes: UInt64
        public var file: String?
        public var rate: Double?
        public var eta: Double?

        package init(transfer: String, bytes: UInt64, totalBytes: UInt64, file: String? = nil) {
            self.transfer = transfer
            self.bytes = bytes
            self.totalBytes = totalBytes
            self.file = file
        }
    }

    public struct Warning: Sendable, Equatable {
        public var transfer: String?
        public var address: String?
        public var message: String

        package init(transfer: String?, address: String? = nil, message: String) {
            self.transfer = transfer
            self.address = address
            self.message = message
        }
    }

    public struct FileSent: Sendable, Equatable {
        public var transfer: String
        public var file: String
        public var bytes: UInt64
        /// Absent: sent whole; equal to `bytes`: skipped (complete at the receiver).
        public var resumedBytes: UInt64?
    }

    /// `seconds` runs from acceptance (ACCEPT) to the end, so a person's time to type the
    /// code is not counted; `waitSeconds` is the time before. `wireBytes`: file bytes that
    /// crossed the wire (not holes, not bytes the receiver held).
    public struct Done: Sendable, Equatable {
        public var transfer: String
        public var files: UInt64
        public var bytes: UInt64
        public var sentBytes: UInt64
        public var resumedBytes: UInt64
        public var skippedFiles: UInt64
        public var resumedFiles: UInt64
        public var seconds: Double
        /// Entries under the sent paths that could not be sent (each was a warning); absent
        /// when none was left out.
        public var leftOut: UInt64?
        public var waitSeconds: Double
        public var wireBytes: UInt64

        package init(transfer: String, result: SendResult, leftOut: UInt64?) {
            self.transfer = transfer
            files = result.files
            bytes = result.bytes
            sentBytes = result.sentBytes
            resumedBytes = result.resumedBytes
            skippedFiles = result.skippedFiles
            resumedFiles = result.resumedFiles
            seconds = result.seconds
            self.leftOut = leftOut
            waitSeconds = result.waitSeconds
            wireBytes = result.wireBytes
        }
    }

    /// An error: `kind` is an `AgentError.Kind` raw value (kept as text so that a kind this
    /// build does not know passes through unchanged).
    public struct Failed: Sendable, Equatable {
        public var transfer: String?
        public var message: String
        public var kind: String
        public var peer: String?
        public var fingerprint: String?
        public var address: String?
        /// An offer refused by a peer's policy: what it offered.
        public var files: UInt64?
        public var totalBytes: UInt64?
        public var names: [String]?

        public init(_ error: AgentError, transfer: String?) {
            self.transfer = transfer
            self.message = error.message
            self.kind = error.kind.rawValue
        }

        public init(transfer: String?, message: String, kind: String, peer: String? = nil, fingerprint: String? = nil, address: String? = nil) {
            self.transfer = transfer
            self.message = message
            self.kind = kind
            self.peer = peer
            self.fingerprint = fingerprint
            self.address = address
        }

        public var errorKind: AgentError.Kind? { AgentError.Kind(rawValue: kind) }
    }

    /// An offer waiting for the person (`offer`), or how it ended (`offer-closed`, whose
    /// `message` says why: declined, expired, withdrawn by the sender, or removed to make room).
    public struct OfferShown: Sendable, Equatable {
        public var offer: String
        public var peer: String
        public var fingerprint: String
        public var address: String
        public var needsCode: Bool
        public var files: UInt64
        public var directories: UInt64
        public var totalBytes: UInt64
        public var names: [String]
        public var expiresIn: Double
        public var message: String?
        /// A text message from the sender, escaped by whoever shows it.
        public var text: String?
    }

    public struct Receiving: Sendable, Equatable {
        public var transfer: String
        public var peer: String
        public var fingerprint: String
        public var address: String
        public var files: UInt64
        public var directories: UInt64
        public var totalBytes: UInt64
        public var names: [String]
        public var paired: Bool
        /// A warning for the person (a paired peer renamed to another device's name).
        public var message: String?
    }

    public struct Received: Sendable, Equatable {
        public var transfer: String
        public var peer: String
        public var files: UInt64
        public var bytes: UInt64
        public var resumedBytes: UInt64
        public var skippedFiles: UInt64
        public var names: [String]
        public var seconds: Double
        public var waitSeconds: Double
        public var wireBytes: UInt64
        /// The directory the files were written to (the inbox, or a peer's own).
        public var inbox: String?
        /// A text message from the sender, escaped by whoever shows it.
        public var text: String?
    }

    public struct PairingFailed: Sendable, Equatable {
        public var offer: String
        public var fingerprint: String
        public var address: String
        public var message: String
    }

    public struct PeerSeen: Sendable, Equatable {
        public var peer: String
        public var fingerprint: String?
        public var address: String?

        public init(peer: String, fingerprint: String?, address: String?) {
            self.peer = peer
            self.fingerprint = fingerprint
            self.address = address
        }
    }
}
