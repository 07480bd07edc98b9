import Foundation

/// One event about offers, transfers and peers, with when it happened and which side of a
/// transfer it concerns: what the agent's terminal prints, what `send --json` prints one per
/// line, and what the control socket streams.
///
/// Its JSON is `EventRecord`'s: a flat object with an `event` name and only the fields that
/// event has, which keeps it simple for scripts.
public struct TransferEvent: Codable, Sendable, Equatable {
    public enum Direction: String, Codable, Sendable {
        case send
        case receive
    }

    public var what: AgentEvent
    /// When the event happened: UTC, ISO 8601 with milliseconds ("2026-12-07T21:04:53.123Z").
    public var time: String?
    public var direction: Direction?

    public init(_ what: AgentEvent, direction: Direction? = nil) {
        self.what = what
        self.direction = direction
        self.time = Self.timestamp()
    }

    /// An `error` event for `error`.
    public static func failure(_ error: AgentError, transfer: String? = nil, direction: Direction? = nil) -> TransferEvent {
        TransferEvent(.error(AgentEvent.Failed(error, transfer: transfer)), direction: direction)
    }

    /// The event's name in JSON.
    public var name: String { what.name }

    public init(from decoder: any Decoder) throws {
        self.init(record: try EventRecord(from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        try record.encode(to: encoder)
    }

    /// `now` as UTC ISO 8601 with milliseconds; `gmtime_r`, so no formatter is shared
    /// between the threads that make events.
    package static func timestamp(_ now: Date = Date()) -> String {
        let since1970 = now.timeIntervalSince1970
        var seconds = time_t(since1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = min(999, max(0, Int((since1970 - Double(seconds)) * 1000)))
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), millis)
    }
}

/// Where a session reports its events. Called from the session's task; must not block.
public typealias EventSink = @Sendable (TransferEvent) -> Void
