import Foundation
import PeershareTransfer

/// One finished transfer or offer, as `peershare history` lists it: one line of
/// `history.jsonl` and one element of the control API's `history` reply.
public struct HistoryEntry: Codable, Sendable, Equatable {
    public enum Direction: String, Codable, Sendable {
        case send, receive
    }

    /// How it ended. A send is `confirmed` once the receiver confirmed every file; a receive
    /// is `received` once every file is written.
    public enum Outcome: String, Codable, Sendable {
        case confirmed, received, declined, expired, withdrawn, cancelled, failed
        case wrongCode = "wrong-code"
        case refused
    }

    /// When it began: UTC, ISO 8601 with milliseconds (as events carry it).
    public var time: String
    public var direction: Direction
    /// The other side's name (not escaped; escape it to show it), or its address when no
    /// name is known.
    public var peer: String
    public var fingerprint: String?
    public var address: String?
    /// The top-level names offered (at most ``maxNames``; `moreNames` counts the rest).
    public var names: [String]
    public var moreNames: Int?
    public var files: UInt64
    /// Bytes of the whole offer.
    public var bytes: UInt64
    public var outcome: Outcome
    /// Why it failed or was refused, in words (absent on success).
    public var message: String?
    /// A received text message (TEXT, protocol 1.1), cut to ``maxText`` characters.
    public var text: String?
    /// Seconds from the first event to the outcome (the wait for approval included).
    public var seconds: Double
    /// The transfer or offer id the events carried.
    public var transfer: String

    /// Names kept per entry: an offer may hold thousands of top-level names, an entry stays small.
    public static let maxNames = 8
    /// Bytes kept of a message.
    static let maxMessage = 500
    /// Enough of a text to recognise it; the whole text is in the inbox (message.txt).
    static let maxText = 1000
}
