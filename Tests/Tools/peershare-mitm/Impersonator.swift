import PeershareCore
import SodiumKit

/// The relay as an active attacker without the code: it ends the sender's TCP session
/// itself and answers as the receiver, opens its own session to the real receiver and
/// offers as the sender (with the offer summary the sender just gave it), and runs the
/// project's own handshake code on both sides with codes it can only guess.
///
/// The order is the one most useful to an attacker: it waits until the receiving person
/// has typed the code shown by the real sender (the receiver's M4 is computed with it),
/// then tries that M4 against its own guess, then gives the sender its own guess. Both
/// fail unless a guess is right (one in a million each). Then, at once, a second attempt
/// on a new connection with another guess: the receiver must not reuse the code its
/// person typed for the first attempt.
struct Impersonator {
    let listener: TCPListener
    let target: RelayTarget
    let fromSender: Capture
    let fromReceiver: Capture
    let guessForSender: PairingCode
    let waitForPerson: Double
    let retryWait: Double
    /// How long to wait for the sender to connect.
    let acceptSeconds: Double

    /// Per handshake step, as long as the agents' own step limit allows.
    private let step = 30.0
    private let cap = 65_536
    private let identity = SigningKeyPair.generate()

    func run() throws(RelayError) {
        let (sender, receiver) = try acceptSender(listener, target: target, identity: identity, seconds: acceptSeconds)

        // Toward the sender: the receiver's part (M1 → M2, then M3 with the summary).
        var asReceiver = ReceiverHandshake(identity: identity) { _ in false }
        let m1 = try read(sender, "the sender's M1", capture: fromSender)
        let summaryBytes: [UInt8]
        do {
            let (m2, _, senderKey) = try asReceiver.handleM1(m1)
            var line = RelayEvent("sender-identity")
            line.fingerprint = Fingerprint.full(of: senderKey)
            line.emit()
            try sender.writeFrame(m2)
            let m3 = try read(sender, "the sender's M3", capture: fromSender)
            summaryBytes = try asReceiver.handleM3(m3)
        } catch let error as HandshakeError {
            throw .usage("the sender's handshake failed at the relay: \(error)")
        } catch let error as RelayError {
            throw error
        } catch {
            throw .usage("\(error)")
        }
        reportSummary(summaryBytes)

        // Toward the receiver: the sender's part, with the copied summary and a guessed code.
        guard var first = try offer(summaryBytes, to: receiver, event: "offered-to-receiver") else { return }
        do {
            let m4 = try first.connection.readRecorded(cap: cap, what: "the receiver's M4", seconds: waitForPerson, into: fromReceiver)
            if let abort = AbortNotice.text(m4) {
                RelayEvent.emit("receiver-refused", message: abort)
            } else {
                do {
                    let (m5, _) = try first.handshake.handleM4(m4)
                    try first.connection.writeFrame(m5)
                    RelayEvent.emit("paired-with-receiver", message: "the guessed code matched")
                } catch {
                    RelayEvent.emit("receiver-confirmation-failed", message: "\(error)")
                }
            }
        } catch {
            RelayEvent.emit("receiver-silent", message: "\(error)")
        }
        first.connection.hangUp()

        // Toward the sender: one guess.
        do {
            let m4 = try asReceiver.makeM4(code: guessForSender)
            try sender.writeFrame(m4)
            var line = RelayEvent("guessed-to-sender")
            line.guess = guessForSender.digits
            line.emit()
            let reply = try sender.readRecorded(cap: cap, what: "the sender's M5", seconds: step, into: fromSender)
            if let abort = AbortNotice.text(reply) {
                RelayEvent.emit("sender-refused", message: abort)
            } else {
                _ = try asReceiver.handleM5(reply)
                RelayEvent.emit("paired-with-sender", message: "the guessed code matched")
            }
        } catch let error as HandshakeError {
            RelayEvent.emit("sender-confirmation-failed", message: "\(error)")
        } catch {
            RelayEvent.emit("sender-refused", message: "\(error)")
        }

        guard retryWait > 0 else { return }
        // Second attempt, right away: a new connection and a new guess.
        guard var second = try offer(summaryBytes, to: receiver, event: "retry-offered") else { return }
        do {
            let answer = try second.connection.readRecorded(cap: cap, what: "the receiver's M4", seconds: retryWait, into: fromReceiver)
            if let abort = AbortNotice.text(answer) {
                RelayEvent.emit("retry-refused", message: abort)
            } else {
                do {
                    _ = try second.handshake.handleM4(answer)
                    RelayEvent.emit("retry-paired", message: "the receiver answered and the guess matched")
                } catch {
                    RelayEvent.emit("retry-answered", message: "the receiver answered a second attempt: \(error)")
                }
            }
        } catch .timedOut {
            RelayEvent.emit("retry-unanswered", message: "no answer within \(retryWait) s: the receiver waits for its person to type a new code")
        } catch {
            RelayEvent.emit("retry-closed", message: "\(error)")
        }
        second.connection.hangUp()
    }

    /// One session to the real receiver, in which the relay plays the sender.
    private struct ReceiverLeg: ~Copyable {
        let connection: TCPConnection
        var handshake: SenderHandshake
    }

    /// Connects to the receiver and sends M1 and M3 (the summary, a fresh guessed code).
    /// Nil when the receiver refuses at once (then reported).
    private func offer(_ summary: [UInt8], to receiver: Endpoint, event: String) throws(RelayError) -> ReceiverLeg? {
        let connection = try TCPConnection.connect(to: receiver)
        var handshake = SenderHandshake(identity: identity, pinnedReceiver: nil, summary: summary)
        do {
            try connection.writeFrame(try handshake.makeM1())
            let m2 = try read(connection, "the receiver's M2", capture: fromReceiver)
            if let abort = AbortNotice.text(m2) {
                RelayEvent.emit("receiver-refused", message: abort)
                return nil
            }
            guard case let .pairing(guess, m3) = try handshake.handleM2(m2) else {
                throw RelayError.usage("the receiver answered KNOWN to a stranger")
            }
            try connection.writeFrame(m3)
            var line = RelayEvent(event)
            line.guess = guess.digits
            line.peer = connection.peer
            line.emit()
        } catch let error as HandshakeError {
            throw .usage("the receiver's handshake failed at the relay: \(error)")
        } catch let error as RelayError {
            throw error
        } catch {
            throw .usage("\(error)")
        }
        return ReceiverLeg(connection: connection, handshake: handshake)
    }

    private func read(_ connection: TCPConnection, _ what: String, capture: Capture) throws(RelayError) -> [UInt8] {
        try connection.readRecorded(cap: cap, what: what, seconds: step, into: capture)
    }

    /// What the relay learned from the sender's M3: the summary it shows the receiving
    /// person. (Encrypted only under the session's key exchange, so whoever answers the
    /// sender as receiver reads it; the code protects everything after it.)
    private func reportSummary(_ bytes: [UInt8]) {
        var line = RelayEvent("learned-summary")
        if let summary = try? OfferSummary.decode(bytes) {
            line.senderName = summary.senderName
            line.files = summary.fileCount
            line.directories = summary.directoryCount
            line.totalBytes = summary.totalBytes
            line.names = summary.topLevelNames
        } else {
            line.message = "the summary did not decode"
        }
        line.emit()
    }
}
