import Foundation

/// One event about offers and transfers: what the agent's terminal prints, what
/// `send --json` prints one per line, and what the control socket streams.
///
/// A flat object with optional fields keeps the JSON simple for scripts: every line has an
/// `event` name, and only the fields that event needs.
public struct TransferEvent: Codable, Sendable, Equatable {
    /// Event names. Senders see: sending, connected, code, waiting, accepted, checking,
    /// progress, warning, done, error. Receivers see: offer, offer-closed, checking,
    /// receiving, progress, received, error, pairing-failed. `checking` comes before held
    /// bytes are read and hashed for a resume (`bytes`; the sender's names the `file`).
    public var event: String
    /// When the event happened: UTC, ISO 8601 with milliseconds ("2026-12-07T21:04:53.123Z").
    public var time: String?
    public var transfer: String?
    public var direction: String?
    public var offer: String?
    public var peer: String?
    public var fingerprint: String?
    public var address: String?
    /// sending: every address the send may try, in order (`address` is the first).
    public var addresses: [String]?
    public var code: String?
    public var needsCode: Bool?
    public var paired: Bool?
    public var files: UInt64?
    public var directories: UInt64?
    public var bytes: UInt64?
    public var totalBytes: UInt64?
    /// Resume (done, received): file bytes actually sent in this session, and bytes the
    /// receiver already held (complete files not sent again, and continued prefixes).
    public var sentBytes: UInt64?
    public var resumedBytes: UInt64?
    /// Resume: files already complete at the receiver, and files continued from an offset.
    public var skippedFiles: UInt64?
    public var resumedFiles: UInt64?
    /// done: entries under the sent paths that could not be sent (each was a `warning`
    /// event); absent when none was left out.
    public var leftOut: UInt64?
    public var names: [String]?
    public var file: String?
    /// done, received: seconds from acceptance (ACCEPT) to the end, so a person's time to
    /// type the code is not counted; `waitSeconds` is the time before acceptance (connecting,
    /// the handshake, the approval).
    public var seconds: Double?
    public var waitSeconds: Double?
    /// done, received: file bytes that crossed the wire (DATA payload): not holes of sparse
    /// files, not bytes the receiver already held. The rate is this over `seconds`.
    public var wireBytes: UInt64?
    /// progress: bytes per second over the last few seconds, and the seconds left at that
    /// rate; absent until two samples a moment apart exist (and `eta` when the rate is 0).
    public var rate: Double?
    public var eta: Double?
    public var expiresIn: Double?
    public var message: String?
    public var kind: String?
    /// received: the directory the files were written to (the inbox, or a peer's own).
    public var inbox: String?
    /// A text message (offer, received), escaped by whoever shows it.
    public var text: String?

    public init(_ event: String) {
        self.event = event
        self.time = Self.timestamp()
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

    /// An `error` event for `error`.
    public static func failure(_ error: AgentError, transfer: String? = nil) -> TransferEvent {
        var event = TransferEvent("error")
        event.transfer = transfer
        event.message = error.message
        event.kind = error.kind.rawValue
        return event
    }
}

/// Where a session reports its events. Called from the session's task; must not block.
public typealias EventSink = @Sendable (TransferEvent) -> Void
