/// A message inside the encrypted stream. The first byte is the type; see
/// `StreamMessage+Codec.swift` for the byte layout of each body.
public enum StreamMessage: Sendable, Equatable {
    /// 0x01, sender → receiver: what is offered; in protocol 1.1 also the capabilities the
    /// sender can use (not sent in 1.0).
    case offer(OfferSummary, capabilities: Capabilities = [])
    /// 0x02, receiver → sender: go ahead. Carries the receiver's display name, so that a
    /// sender that dialled `HOST:PORT` can remember the peer by name (a hint, like every
    /// name: identity is the key proven in the handshake); in 1.1 also the capabilities the
    /// receiver agrees to (a subset of the offer's).
    case accept(receiverName: String, capabilities: Capabilities = [])
    /// 0x03, receiver → sender: no, with a reason and a message for the person.
    case refuse(RefusalReason, String)
    /// 0x04, sender → receiver: the next file, directory or symlink, in tree order.
    case entry(Entry)
    /// 0x05, sender → receiver: 1...maxChunk bytes of the current file.
    case data([UInt8])
    /// 0x06, sender → receiver: a run of zero bytes (a sparse region), length ≥ 1.
    case hole(UInt64)
    /// 0x07, sender → receiver: last sender message (secretstream TAG_FINAL).
    case end(files: UInt64, bytes: UInt64)
    /// 0x08, receiver → sender: everything was written (TAG_FINAL).
    case done(files: UInt64, bytes: UInt64)
    /// 0x09, either direction: the transfer is aborted (TAG_FINAL).
    case failure(FailureCode, String)
    /// 0x10, receiver → sender, right after ACCEPT (one or more, the last with `last`):
    /// what the receiver already holds from this sender (resume, docs/PROTOCOL.md §6).
    case holding(last: Bool, records: [ResumeRecord])
    /// 0x11, sender → receiver, just before a file ENTRY: the receiver holds the first
    /// `offset` bytes of that file (as it announced); only the rest follows.
    case resume(offset: UInt64)
    /// 0x13, protocol 1.1 only, either direction: an authenticated probe in place of OFFER
    /// (KNOWN sessions only). The sender says its name and capabilities; the receiver answers
    /// with its own HELLO (its name and the capabilities it agrees to). Both carry TAG_FINAL.
    case hello(name: String, capabilities: Capabilities)
    /// 0x14, protocol 1.1 with the `text` capability agreed, sender → receiver: the only
    /// file of the offer as UTF-8 text (≤ `WireLimits.maxText` bytes, exactly its offered
    /// size), in place of its ENTRY and DATA.
    case text(String)

    public static let offerType: UInt8 = 0x01
    public static let acceptType: UInt8 = 0x02
    public static let refuseType: UInt8 = 0x03
    public static let entryType: UInt8 = 0x04
    /// The DATA type byte: the hot path can check `message[0] == dataType` and hand
    /// `message[1...]` to the file without building a `StreamMessage` (then it must
    /// check 1...maxChunk bytes itself and call `EntryAccounting.data(count:)`).
    public static let dataType: UInt8 = 0x05
    public static let holeType: UInt8 = 0x06
    public static let endType: UInt8 = 0x07
    public static let doneType: UInt8 = 0x08
    public static let failureType: UInt8 = 0x09
    // Resume messages use 0x10 and up, apart from the transfer messages above.
    public static let holdingType: UInt8 = 0x10
    public static let resumeType: UInt8 = 0x11
    /// The BATCH type byte: a container of ENTRY, DATA and HOLE items (see `StreamBatch`),
    /// not a message of its own, so `decode` refuses it and the receiver's hot path reads
    /// it with `StreamBatch.Reader`.
    public static let batchType: UInt8 = 0x12
    /// HELLO, protocol 1.1 (an unknown type in 1.0).
    public static let helloType: UInt8 = 0x13
    /// TEXT, protocol 1.1 (an unknown type in 1.0).
    public static let textType: UInt8 = 0x14

    /// The type byte of this message.
    public var type: UInt8 {
        switch self {
        case .offer: Self.offerType
        case .accept: Self.acceptType
        case .refuse: Self.refuseType
        case .entry: Self.entryType
        case .data: Self.dataType
        case .hole: Self.holeType
        case .end: Self.endType
        case .done: Self.doneType
        case .failure: Self.failureType
        case .holding: Self.holdingType
        case .resume: Self.resumeType
        case .hello: Self.helloType
        case .text: Self.textType
        }
    }

    /// A short name for logs and errors ("offer", "data", ...).
    public var name: String { Self.name(ofType: type) }

    public static func name(ofType type: UInt8) -> String {
        switch type {
        case offerType: "offer"
        case acceptType: "accept"
        case refuseType: "refuse"
        case entryType: "entry"
        case dataType: "data"
        case holeType: "hole"
        case endType: "end"
        case doneType: "done"
        case failureType: "failure"
        case holdingType: "holding"
        case resumeType: "resume"
        case batchType: "batch"
        case helloType: "hello"
        case textType: "text"
        default: "unknown(\(type))"
        }
    }
}

/// Why a receiver refused an offer (REFUSE reason byte).
public enum RefusalReason: UInt8, Sendable, Equatable, CustomStringConvertible {
    case declined = 1
    case noSpace = 2
    case expired = 3
    /// Too many pending offers, or the agent is busy.
    case busy = 4
    case badOffer = 5
    case wrongCode = 6
    case ioError = 7
    case cancelled = 8

    public var description: String {
        switch self {
        case .declined: "declined"
        case .noSpace: "not enough space"
        case .expired: "offer expired"
        case .busy: "busy (too many offers)"
        case .badOffer: "bad offer"
        case .wrongCode: "wrong code"
        case .ioError: "I/O error"
        case .cancelled: "cancelled"
        }
    }
}

/// Why a transfer was aborted (FAILURE code byte).
public enum FailureCode: UInt8, Sendable, Equatable, CustomStringConvertible {
    case protocolViolation = 1
    case ioError = 2
    case noSpace = 3
    case cancelled = 4
    case tooLarge = 5
    case badEntry = 6
    case internalError = 7

    public var description: String {
        switch self {
        case .protocolViolation: "protocol error"
        case .ioError: "I/O error"
        case .noSpace: "no space left"
        case .cancelled: "cancelled"
        case .tooLarge: "too large"
        case .badEntry: "bad entry"
        case .internalError: "internal error"
        }
    }
}
