import Foundation
import PeershareTransfer

/// What a control client asks for: the `command` of a request. In JSON it is the command's
/// name; a name this agent does not know is kept, so that the reply can name it.
public enum ControlCommand: Sendable, Equatable, Codable {
    /// Says which API version the agent speaks (`api`).
    case hello
    case status, inbox, accept, decline, peers, history
    /// Streams the send's events until it ends.
    case send
    /// Streams every event until the client goes away.
    case events
    case unknown(String)

    static let known: [ControlCommand] = [.hello, .status, .inbox, .accept, .decline, .peers, .history, .send, .events]

    public init(name: String) {
        self = Self.known.first { $0.name == name } ?? .unknown(name)
    }

    public var name: String {
        switch self {
        case .hello: "hello"
        case .status: "status"
        case .inbox: "inbox"
        case .accept: "accept"
        case .decline: "decline"
        case .peers: "peers"
        case .history: "history"
        case .send: "send"
        case .events: "events"
        case .unknown(let name): name
        }
    }

    public init(from decoder: any Decoder) throws {
        self.init(name: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}

/// A request on the control socket: one JSON object on one line. `command` is one of: hello,
/// status, inbox, accept, decline, peers, history, send, events (docs/CONTROL.md describes
/// each, with its reply or events). The other fields are the command's arguments.
public struct ControlRequest: Codable, Sendable {
    public var command: ControlCommand
    public var paths: [String]?
    /// `HOST:PORT`, a discovered name, a unique prefix of one, or a fingerprint prefix.
    public var to: String?
    public var code: String?
    public var offer: String?
    /// send: globs of entries inside the folders not to send (`send --exclude`).
    public var exclude: [String]?
    /// send: also stream a `file` event per file (`send -v`).
    public var verbose: Bool?
    /// send: bytes a second for this send (`--limit-rate`; 0: no limit).
    public var limitRate: UInt64?
    /// `send`: the one path is a text (`send --text`, `send -`), sent as TEXT when the receiver takes it.
    public var text: Bool?
    /// history: how many of the latest entries (1 to ``HistoryFile/maxEntries``; default 20).
    public var limit: Int?
    /// peers: probe static and paired peers now, before answering (`peers --probe`).
    public var probe: Bool?

    public init(command: ControlCommand) { self.command = command }
}

/// The control API's version, in the `hello` and `status` replies. Changes that only add
/// (a command, a field, an event, a value of `kind`) keep it; clients ignore what they do not
/// know. Removing or changing the meaning of anything raises it (docs/CONTROL.md).
public enum ControlAPI {
    public static let version = 1
}

/// The answer to a request that is not a stream: one JSON object on one line.
public struct ControlReply: Codable, Sendable {
    public var ok: Bool
    /// hello, status: the control API's version (``ControlAPI/version``).
    public var api: Int?
    public var error: String?
    public var kind: AgentError.Kind?
    public var status: AgentStatus?
    public var offers: [PendingOffer]?
    public var offer: PendingOffer?
    public var peers: [PeerInfo]?
    /// Peers left out of `peers` (the reply carries at most ``ControlServer/maxPeersInReply``,
    /// and the agent's table holds at most ``PeerTable/maxPeers``); absent when none were.
    public var truncated: Int?
    public var discovery: String?
    /// history: the latest entries, newest first.
    public var history: [HistoryEntry]?

    public init(ok: Bool) { self.ok = ok }

    public static func failure(_ error: AgentError) -> ControlReply {
        var reply = ControlReply(ok: false)
        reply.error = error.message
        reply.kind = error.kind
        return reply
    }
}

/// What `peershare status` shows.
public struct AgentStatus: Codable, Sendable {
    /// The control API's version (``ControlAPI/version``).
    public var api: Int? = ControlAPI.version
    public var name: String
    public var fingerprint: String
    public var publicKey: String
    public var port: Int
    public var addresses: [String]
    public var inbox: String
    /// The stack in use: "avahi-daemon", "embedded", "off", "starting" or "unavailable: …".
    public var discovery: String
    /// The configured mode (`--discovery`): auto, daemon, embedded or off.
    public var discoveryMode: String?
    public var pid: Int32
    public var transfers: [TransferStatus]
    public var pendingOffers: Int
}

/// JSON coding shared by the control socket's two ends and `--json` output: ISO 8601 dates
/// with milliseconds (scripts measure discovery and transfer times from them), sorted keys
/// (stable output for scripts and tests).
public enum ControlJSON {
    static let dateStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.formatted(dateStyle))
        }
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// Accepts dates with or without fractional seconds.
    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            if let date = try? Date(text, strategy: dateStyle) { return date }
            if let date = try? Date(text, strategy: .iso8601) { return date }
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an ISO 8601 date: \(text)")
        }
        return decoder
    }

    /// One line of JSON (no trailing newline).
    public static func line<T: Encodable>(_ value: T) -> String {
        guard let data = try? encoder().encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
