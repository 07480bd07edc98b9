import Foundation

/// One line of the relay's report on standard output: a JSON object with an `event` and
/// the fields that event has. The lab cases read these lines with jq, so every line is
/// written (unbuffered) as soon as the relay knows it.
struct RelayEvent: Encodable {
    var event: String
    var peer: String?
    var message: String?
    /// A pairing code the relay guessed (never one an honest party showed: it has none).
    var guess: String?
    var fingerprint: String?
    var mode: String?
    var frame: Int?
    var frameLength: Int?
    var offset: Int?
    var bytesToReceiver: Int?
    var bytesToSender: Int?
    var senderName: String?
    var files: UInt64?
    var directories: UInt64?
    var totalBytes: UInt64?
    var names: [String]?
    /// Whether a confirmation tag or an identity signature the relay checked verified.
    var tagValid: Bool?
    var signatureValid: Bool?

    init(_ event: String) { self.event = event }

    func emit() {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return }
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }

    static func emit(_ event: String, message: String? = nil) {
        var line = RelayEvent(event)
        line.message = message
        line.emit()
    }
}

/// Appends every byte the relay saw in one direction to a file, so the test can look for
/// what must never travel in the clear (file names, contents, the pairing code).
final class Capture {
    private let handle: FileHandle?

    /// No file when `path` is nil.
    init(path: String?) throws(RelayError) {
        guard let path else {
            handle = nil
            return
        }
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw .usage("cannot create the capture file \(path)")
        }
        self.handle = handle
    }

    func record(_ bytes: [UInt8]) {
        handle?.write(Data(bytes))
    }

    /// Records one frame as it was on the wire (length prefix and payload).
    func recordFrame(_ payload: [UInt8]) {
        let length = UInt32(payload.count)
        record([UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)] + payload)
    }
}
