import PeershareCore
import SodiumKit

/// How every attacking mode (`impersonate`, `stand-in`) begins: it announces the identity
/// it will use, takes the sender's connection and finds the real receiver's address.
func acceptSender(_ listener: TCPListener, target: RelayTarget, identity: SigningKeyPair,
                  seconds: Double) throws(RelayError) -> (sender: TCPConnection, receiver: Endpoint) {
    var line = RelayEvent("identity")
    line.fingerprint = Fingerprint.full(of: identity.publicKey)
    line.emit()
    let sender = try listener.accept(seconds: seconds)
    line = RelayEvent("sender-connected")
    line.peer = sender.peer
    line.emit()
    return (sender, try target.resolve(for: sender))
}

extension TCPConnection {
    /// One handshake frame (at most `cap` bytes, within `seconds`), kept in `capture`
    /// for the report of what the relay saw.
    func readRecorded(cap: Int, what: String, seconds: Double, into capture: Capture) throws(RelayError) -> [UInt8] {
        let frame = try readFrame(cap: cap, what: what, seconds: seconds)
        capture.recordFrame(frame)
        return frame
    }
}

/// The abort notice an agent sends instead of its next handshake message.
enum AbortNotice {
    /// The text of an abort frame (`7F`, reason, 2-byte length, text); nil for anything else.
    static func text(_ frame: [UInt8]) -> String? {
        guard frame.count >= 4, frame[0] == 0x7F else { return nil }
        return "reason \(frame[1]): " + String(decoding: frame[4...], as: UTF8.self)
    }
}
