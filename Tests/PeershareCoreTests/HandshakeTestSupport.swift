import PeershareCore
import SodiumKit
import Testing

/// The handshake steps, in the order a session runs them.
enum FlowStep: String, Sendable {
    case senderMakeM1, receiverHandleM1, senderHandleM2, receiverHandleM3, receiverMakeM4, senderHandleM4, receiverHandleM5
}

/// Which step failed, and how.
struct FlowFailure: Error, Equatable, CustomStringConvertible {
    let step: FlowStep
    let error: HandshakeError
    var description: String { "\(step): \(error)" }
}

/// What both sides ended with.
struct FlowResult {
    let sender: HandshakeOutcome
    let receiver: HandshakeOutcome
    let agreedMode: HandshakeMode
    let summarySeen: [UInt8]?
    let fellBackToPairing: Bool
    let senderIdentitySeen: [UInt8]
    let receiverIdentitySeen: [UInt8]?
    let messages: [FlowStep: [UInt8]]
}

/// A complete handshake between two in-memory peers, with a man in the middle that may rewrite
/// every message and a person who may type another code.
struct HandshakeScenario {
    var senderIdentity = SigningKeyPair.generate()
    var receiverIdentity = SigningKeyPair.generate()
    /// The receiver key the sender has pinned (M1 asks KNOWN when set).
    var senderPin: [UInt8]?
    /// The sender keys the receiver has pinned.
    var receiverPins: [[UInt8]] = []
    var summary: [UInt8] = Array("alice-laptop: 3 files, 12.4 MB: holiday/, notes.txt".utf8)
    var senderScalar: SecretKey?
    var receiverScalar: SecretKey?
    /// What the receiving person types, given the code the sender shows.
    var typedCode: (PairingCode) -> PairingCode = { $0 }
    var tamperM1: ([UInt8]) -> [UInt8] = { $0 }
    var tamperM2: ([UInt8]) -> [UInt8] = { $0 }
    var tamperM3: ([UInt8]) -> [UInt8] = { $0 }
    var tamperM4: ([UInt8]) -> [UInt8] = { $0 }
    var tamperM5: ([UInt8]) -> [UInt8] = { $0 }

    private func step<T>(_ step: FlowStep, _ body: () throws(HandshakeError) -> T) throws(FlowFailure) -> T {
        do {
            return try body()
        } catch {
            throw FlowFailure(step: step, error: error)
        }
    }

    func run() -> Result<FlowResult, FlowFailure> {
        Result { () throws(FlowFailure) in try runThrowing() }
    }

    private func runThrowing() throws(FlowFailure) -> FlowResult {
        let pins = receiverPins
        var sender = SenderHandshake(identity: senderIdentity, pinnedReceiver: senderPin, summary: summary, cpaceScalar: senderScalar)
        var receiver = ReceiverHandshake(identity: receiverIdentity, isPinned: { key in pins.contains(key) }, cpaceScalar: receiverScalar)
        var messages: [FlowStep: [UInt8]] = [:]

        let m1 = try step(.senderMakeM1) { () throws(HandshakeError) in try sender.makeM1() }
        messages[.senderMakeM1] = m1
        let (m2, agreedMode, senderIdentitySeen) = try step(.receiverHandleM1) { () throws(HandshakeError) in
            try receiver.handleM1(tamperM1(m1))
        }
        messages[.receiverHandleM1] = m2
        let senderStep = try step(.senderHandleM2) { () throws(HandshakeError) in try sender.handleM2(tamperM2(m2)) }

        var summarySeen: [UInt8]?
        var code: PairingCode?
        if case let .pairing(shownCode, m3) = senderStep {
            messages[.senderHandleM2] = m3
            summarySeen = try step(.receiverHandleM3) { () throws(HandshakeError) in try receiver.handleM3(tamperM3(m3)) }
            code = typedCode(shownCode)
        }
        let m4 = try step(.receiverMakeM4) { () throws(HandshakeError) in try receiver.makeM4(code: code) }
        messages[.receiverMakeM4] = m4
        let (m5, senderOutcome) = try step(.senderHandleM4) { () throws(HandshakeError) in try sender.handleM4(tamperM4(m4)) }
        messages[.senderHandleM4] = m5
        let receiverOutcome = try step(.receiverHandleM5) { () throws(HandshakeError) in try receiver.handleM5(tamperM5(m5)) }

        return FlowResult(sender: senderOutcome, receiver: receiverOutcome, agreedMode: agreedMode,
                          summarySeen: summarySeen, fellBackToPairing: sender.fellBackToPairing,
                          senderIdentitySeen: senderIdentitySeen, receiverIdentitySeen: sender.receiverIdentity,
                          messages: messages)
    }

    /// A scenario where both sides have each other pinned.
    static func known() -> HandshakeScenario {
        var scenario = HandshakeScenario()
        scenario.senderPin = scenario.receiverIdentity.publicKey
        scenario.receiverPins = [scenario.senderIdentity.publicKey]
        return scenario
    }
}

extension Result where Failure == FlowFailure {
    /// The failure, or nil on success.
    var failure: FlowFailure? {
        if case let .failure(failure) = self { failure } else { nil }
    }
}

extension HandshakeError {
    /// Whether this is `.malformed`, whatever its detail text.
    var isMalformed: Bool {
        if case .malformed = self { true } else { false }
    }
}

/// Returns `bytes` with `byte` XORed with `mask` at `offset`.
func flipping(_ bytes: [UInt8], at offset: Int, mask: UInt8 = 0x01) -> [UInt8] {
    var copy = bytes
    copy[offset] ^= mask
    return copy
}

/// Returns `bytes` with `replacement` written from `offset`.
func replacing(_ bytes: [UInt8], at offset: Int, with replacement: [UInt8]) -> [UInt8] {
    var copy = bytes
    copy.replaceSubrange(offset..<(offset + replacement.count), with: replacement)
    return copy
}

/// Another 6-digit code than `code`.
func otherCode(than code: PairingCode) -> PairingCode {
    let value = (Int(code.digits) ?? 0) + 1
    let text = String((value % 1_000_000))
    return PairingCode(typed: String(repeating: "0", count: 6 - text.count) + text) ?? code
}

/// Field offsets of the wire layout (HandshakeMessages.swift).
enum Offset {
    static let m1Version = 4, m1Type = 5, m1Mode = 6, m1Nonce = 7, m1Ephemeral = 39, m1Identity = 71
    static let m2Type = 0, m2Mode = 1, m2Nonce = 2, m2Ephemeral = 34, m2Identity = 66
    static let m3Share = 1, m3Length = 33, m3Sealed = 37
    static let m4Share = 1
}
