/// Why bytes from a peer were rejected by the codec or by the stream grammar.
///
/// Flat and specific, so a test can assert the exact reason and a person can act on the
/// message. Any text that came from the peer is shown only through `DisplayEscape`.
public enum WireError: Error, Sendable, Equatable, CustomStringConvertible {
    // MARK: Codec
    /// The message ended in the middle of a field.
    case truncated(field: String)
    /// A varint continued past 10 bytes.
    case varintOverlong
    /// A 10-byte varint encodes a value above `UInt64.max`.
    case varintOverflow
    /// A varint has a redundant trailing zero group (not the shortest encoding).
    case varintNonMinimal
    /// A string or byte field longer than its cap.
    case fieldTooLong(field: String, length: UInt64, limit: Int)
    /// A string field is not valid UTF-8.
    case invalidUTF8(field: String)
    /// A number outside the range allowed for its field.
    case valueOutOfRange(field: String, value: UInt64)
    /// A text field holds control or bidi characters where none are allowed.
    case invalidText(field: String)
    /// An empty message (no type byte).
    case emptyMessage
    /// A message longer than `WireLimits.maxStreamMessage` (or the handshake cap).
    case messageTooLarge(length: Int, limit: Int)
    /// The first byte is not a known message type.
    case unknownMessageType(UInt8)
    /// Bytes left over after the last field of a message.
    case trailingBytes(count: Int)
    /// A BATCH message without any item.
    case emptyBatch
    /// A BATCH item of a type other than ENTRY, DATA or HOLE.
    case notAllowedInBatch(UInt8)
    /// An entry kind byte other than file, directory or symlink.
    case unknownEntryKind(UInt8)
    /// A refusal reason byte this version does not know.
    case unknownRefusalReason(UInt8)
    /// A failure code byte this version does not know.
    case unknownFailureCode(UInt8)
    /// A path failed `PathRules`.
    case invalidPath(PathError)
    /// A symlink target failed `PathRules.validateSymlinkTarget`.
    case invalidSymlinkTarget(PathError)
    /// A DATA message with no bytes, or a HOLE of length 0.
    case emptyData
    /// A name is listed twice in an offer summary.
    case duplicateTopLevelName(String)

    // MARK: Stream grammar (EntryAccounting)
    /// A message that is not allowed in the current state (`expected` says what was).
    case unexpectedMessage(received: String, expected: String)
    /// A path (or a canonically equal spelling of it) was already announced.
    case duplicatePath(String)
    /// An entry's parent was not announced as a directory earlier in this offer.
    case parentNotDirectory(String)
    /// An entry's parent is spelled with different bytes than the announced directory
    /// (for example NFD against NFC): the receiver could not find it on disk.
    case parentSpellingMismatch(String)
    /// An entry that is inconsistent in itself (a directory with a size, a symlink without a target...).
    case badEntry(path: String, reason: String)
    /// DATA or HOLE bytes past the declared size of the current file.
    case dataBeyondSize(path: String, size: UInt64)
    /// The next entry or the end arrived before the current file had all its bytes.
    case fileIncomplete(path: String, expected: UInt64, received: UInt64)
    /// More entries of a kind, or more bytes, than the offer summary declared.
    case exceedsOffer(what: String, declared: UInt64)
    /// A top-level name that the offer summary did not list.
    case topLevelNotInOffer(String)
    /// The paths of this offer together exceed `WireLimits.maxOfferPathBytes`.
    case offerPathsTooLarge(limit: Int)
    /// The END counts do not match what was declared and received.
    case endMismatch(what: String, declared: UInt64, received: UInt64)

    public var description: String {
        let e = DisplayEscape.escape
        switch self {
        case .truncated(let field): return "message truncated in field '\(field)'"
        case .varintOverlong: return "varint longer than 10 bytes"
        case .varintOverflow: return "varint value above 2^64-1"
        case .varintNonMinimal: return "varint not in its shortest encoding"
        case .fieldTooLong(let field, let length, let limit):
            return "field '\(field)' of \(length) bytes (limit \(limit))"
        case .invalidUTF8(let field): return "field '\(field)' is not valid UTF-8"
        case .valueOutOfRange(let field, let value): return "field '\(field)' out of range: \(value)"
        case .invalidText(let field): return "field '\(field)' contains control or bidi characters"
        case .emptyMessage: return "empty message"
        case .messageTooLarge(let length, let limit): return "message of \(length) bytes (limit \(limit))"
        case .unknownMessageType(let t): return "unknown message type \(t)"
        case .trailingBytes(let count): return "\(count) unexpected bytes after the end of a message"
        case .emptyBatch: return "empty BATCH message"
        case .notAllowedInBatch(let t): return "a message of type \(t) inside a BATCH (only ENTRY, DATA and HOLE may be batched)"
        case .unknownEntryKind(let k): return "unknown entry kind \(k)"
        case .unknownRefusalReason(let r): return "unknown refusal reason \(r)"
        case .unknownFailureCode(let c): return "unknown failure code \(c)"
        case .invalidPath(let p): return "invalid path: \(p)"
        case .invalidSymlinkTarget(let p): return "invalid symlink target: \(p)"
        case .emptyData: return "empty DATA or HOLE message"
        case .duplicateTopLevelName(let n): return "top-level name '\(e(n))' listed twice"
        case .unexpectedMessage(let received, let expected):
            return "unexpected \(received) message (expected \(expected))"
        case .duplicatePath(let p): return "duplicate path '\(e(p))'"
        case .parentNotDirectory(let p): return "the parent of '\(e(p))' was not sent as a directory before it"
        case .parentSpellingMismatch(let p):
            return "the parent of '\(e(p))' is spelled differently from the directory sent"
        case .badEntry(let p, let reason): return "bad entry '\(e(p))': \(reason)"
        case .dataBeyondSize(let p, let size): return "more data than the \(size) bytes declared for '\(e(p))'"
        case .fileIncomplete(let p, let expected, let received):
            return "'\(e(p))' ended after \(received) of \(expected) bytes"
        case .exceedsOffer(let what, let declared): return "more \(what) than the \(declared) offered"
        case .topLevelNotInOffer(let n): return "top-level name '\(e(n))' was not in the offer"
        case .offerPathsTooLarge(let limit): return "the paths of the offer exceed \(limit) bytes"
        case .endMismatch(let what, let declared, let received):
            return "end: \(what) declared \(declared), received \(received)"
        }
    }
}
