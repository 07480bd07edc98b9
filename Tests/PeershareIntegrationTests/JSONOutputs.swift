import Foundation

/// One line of `peershare send --json`: only the fields the tests read.
struct SendEvent: Decodable, Sendable, Equatable {
    var event: String
    var transfer: String?
    /// The recipient, on every event of a send to several peers.
    var peer: String?
    var code: String?
    var message: String?
    var kind: String?
    var fingerprint: String?
    var address: String?
    var addresses: [String]?
    var file: String?
    var files: UInt64?
    var directories: UInt64?
    var bytes: UInt64?
    var totalBytes: UInt64?
    var sentBytes: UInt64?
    var resumedBytes: UInt64?
    var skippedFiles: UInt64?
    var resumedFiles: UInt64?
    var paired: Bool?
    var names: [String]?
    var expiresIn: Double?
    var seconds: Double?
    var leftOut: UInt64?
    var time: String?
    var waitSeconds: Double?
    var wireBytes: UInt64?
    var rate: Double?
    var eta: Double?

    /// Every line of `text` that decodes as an event, in order (other lines are ignored).
    static func parse(_ text: String) -> [SendEvent] {
        let decoder = JSONDecoder()
        return text.split(separator: "\n").compactMap { line in
            try? decoder.decode(SendEvent.self, from: Data(line.utf8))
        }
    }
}

/// `peershare status --json` (the fields the tests read).
struct AgentStatus: Decodable, Sendable {
    var port: Int
    var name: String
    var fingerprint: String
    var pendingOffers: Int?
    var transfers: [TransferInfo]?

    /// One transfer in progress (only its direction is read).
    struct TransferInfo: Decodable, Sendable {
        var direction: String
    }
}

/// `peershare id --json`.
struct IdentityInfo: Decodable, Sendable {
    var name: String
    var fingerprint: String
}

/// One element of `peershare inbox --json`.
struct PendingOfferInfo: Decodable, Sendable {
    var id: String
    var peer: String
    var fingerprint: String
    var address: String?
    var addresses: [String]?
    var needsCode: Bool
    var files: UInt64
    var directories: UInt64?
    var bytes: UInt64
    var names: [String]
}

/// One element of `peershare trusted --json`.
struct TrustedPeerInfo: Decodable, Sendable {
    var name: String
    var fingerprint: String
}

/// Decodes `text` as `T`, or nil.
func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String) -> T? {
    try? JSONDecoder().decode(type, from: Data(text.utf8))
}
