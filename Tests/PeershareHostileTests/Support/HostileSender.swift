import Foundation
import PeershareCore
import PeershareSpec
import SodiumKit

/// What the agent did in answer to a hostile attempt, as seen by the test peer.
enum Outcome: CustomStringConvertible {
    /// A plaintext abort notice in the handshake.
    case abort(AbortNotice)
    case failure(FailureCode, String)
    case refuse(RefusalReason, String)
    case done(files: UInt64, bytes: UInt64)
    case accept(String)
    /// Another stream message (unexpected from a receiver).
    case message(StreamMessage, final: Bool)
    /// A plaintext frame that is not an abort (a handshake message).
    case handshakeFrame([UInt8])
    case closed
    case reset
    case truncated(Int)
    case timedOut
    /// A stream frame from the agent that did not decrypt or decode.
    case garbled(String)

    init(_ read: FrameRead) {
        switch read {
        case .frame(let bytes):
            if let abort = AbortNotice(bytes) { self = .abort(abort) } else { self = .handshakeFrame(bytes) }
        case .closed: self = .closed
        case .reset: self = .reset
        case .truncated(let count): self = .truncated(count)
        case .timedOut: self = .timedOut
        case .tooLarge(let length): self = .garbled("frame length \(length)")
        }
    }

    /// The session was refused or ended by the agent (with or without a reason).
    var isRejection: Bool {
        switch self {
        case .abort, .failure, .refuse, .closed, .reset, .truncated: true
        default: false
        }
    }

    /// The agent said why (abort, FAILURE or REFUSE).
    var reason: String? {
        switch self {
        case .abort(let notice): notice.text
        case .failure(_, let text), .refuse(_, let text): text
        default: nil
        }
    }

    var isClosedWithoutReason: Bool {
        switch self {
        case .closed, .reset, .truncated: true
        default: false
        }
    }

    var description: String {
        switch self {
        case .abort(let notice): "\(notice)"
        case .failure(let code, let text): "FAILURE(\(code.rawValue) \(code), \"\(DisplayEscape.escape(text))\")"
        case .refuse(let reason, let text): "REFUSE(\(reason.rawValue) \(reason), \"\(DisplayEscape.escape(text))\")"
        case .done(let files, let bytes): "DONE(\(files) files, \(bytes) bytes)"
        case .accept(let name): "ACCEPT(\(DisplayEscape.escape(name)))"
        case .message(let message, let final): "\(message.name)\(final ? " (final)" : "")"
        case .handshakeFrame(let bytes): "handshake frame type \(bytes.first ?? 0) of \(bytes.count) bytes"
        case .closed: "closed without a message"
        case .reset: "reset without a message"
        case .truncated(let count): "closed mid-frame after \(count) bytes"
        case .timedOut: "no answer (timed out)"
        case .garbled(let text): "garbled answer: \(text)"
        }
    }
}

/// The authenticated part of a session, played by the test: both secretstreams, so any
/// plaintext can be sent (also what a real sender never would) and any ciphertext replayed,
/// reordered, flipped or cut.
final class SecureSession: @unchecked Sendable {
    let socket: PeerSocket
    private var pusher: SecretStreamPusher
    private var puller: SecretStreamPuller
    /// The agent's identity key proven in the handshake.
    let agentKey: [UInt8]

    init(socket: PeerSocket, pusher: consuming SecretStreamPusher, puller: consuming SecretStreamPuller, agentKey: [UInt8]) {
        self.socket = socket
        self.pusher = pusher
        self.puller = puller
        self.agentKey = agentKey
    }

    /// Encrypts one plaintext without sending it.
    func seal(_ plaintext: [UInt8], final: Bool = false) throws -> [UInt8] {
        try pusher.push(plaintext, final: final)
    }

    /// Encrypts `plaintext` with any secretstream tag (PUSH, REKEY) and sends it as one frame.
    func send(_ plaintext: [UInt8], tag: SecretStreamTag) async throws {
        try await socket.sendFrame(try pusher.push(plaintext, tag: tag))
    }

    /// Encrypts and sends one plaintext as one frame.
    func send(_ plaintext: [UInt8], final: Bool = false) async throws {
        try await socket.sendFrame(try seal(plaintext, final: final))
    }

    /// Sends a raw frame payload (already encrypted, or garbage).
    func sendFrame(_ payload: [UInt8]) async throws {
        try await socket.sendFrame(payload)
    }

    /// The agent's next stream message, or why there is none.
    func receive(timeout: Duration = .seconds(10)) async -> Outcome {
        let read = await socket.readFrame(timeout: timeout, maxLength: WireLimits.maxStreamFrame)
        guard case .frame(let cipher) = read else { return Outcome(read) }
        let pulled: (message: [UInt8], isFinal: Bool)
        do {
            pulled = try puller.pull(cipher)
        } catch {
            return .garbled("undecryptable frame of \(cipher.count) bytes: \(error)")
        }
        do {
            let message = try StreamMessage.decode(pulled.message)
            switch message {
            case .failure(let code, let text): return .failure(code, text)
            case .refuse(let reason, let text): return .refuse(reason, text)
            case .done(let files, let bytes): return .done(files: files, bytes: bytes)
            case .accept(let name, _): return .accept(name)
            default: return .message(message, final: pulled.isFinal)
            }
        } catch {
            return .garbled("undecodable message: \(error)")
        }
    }

    /// Sends an OFFER plaintext and returns the agent's answer (ACCEPT expected for a good one).
    func offer(_ plaintext: [UInt8], final: Bool = false) async throws -> Outcome {
        try await send(plaintext, final: final)
        return await receive()
    }

    /// The agent's final answer: reads until FAILURE/REFUSE/DONE or the connection ends.
    func finalAnswer(timeout: Duration = .seconds(10)) async -> Outcome {
        let deadline = ContinuousClock.now + timeout
        while true {
            let left = deadline - ContinuousClock.now
            if left <= .zero { return .timedOut }
            let answer = await receive(timeout: left)
            switch answer {
            case .message(_, false), .accept:
                continue
            default:
                return answer
            }
        }
    }

    /// Performs `steps` in order; stops early, without an error, when the agent has closed
    /// the connection (its answer is then read with `finalAnswer`).
    func perform(_ steps: [Step]) async throws {
        for step in steps {
            do {
                switch step {
                case .message(let plaintext): try await send(plaintext)
                case .final(let plaintext): try await send(plaintext, final: true)
                case .rawFrame(let payload): try await socket.sendFrame(payload)
                case .rawBytes(let bytes): try await socket.send(bytes)
                }
            } catch let error as SocketError {
                if case .peerClosed = error { return }
                throw error
            }
        }
    }

    func close() { socket.close() }
}

/// One handshake played step by step as a sender, so a test can stop, tamper or replay
/// anywhere. Built on `SpecSender` (PeershareSpec: docs/PROTOCOL.md §3 written from the
/// document, not the product's `SenderHandshake`) plus raw frames, so the agent is checked
/// against the document, not against its own code.
final class SenderAttempt: @unchecked Sendable {
    let socket: PeerSocket
    private var handshake: SpecSender
    private(set) var m1: [UInt8] = []
    private(set) var m2: [UInt8] = []
    private(set) var m3: [UInt8] = []
    private(set) var m5: [UInt8] = []
    /// The pairing code S shows (PAIR), six digits.
    private(set) var code: String?
    /// The mode byte M2 agreed (`SpecHandshake.pair` or `.known`).
    private(set) var mode: UInt8?

    init(socket: PeerSocket, identity: SigningKeyPair, pinnedReceiver: [UInt8]?, summary: [UInt8]) {
        self.socket = socket
        self.handshake = SpecSender(identity: identity, pinnedReceiver: pinnedReceiver, summary: summary)
    }

    var receiverIdentity: [UInt8]? { handshake.receiverIdentity }
    var fellBackToPairing: Bool { handshake.fellBackToPairing }

    /// Makes and sends M1.
    func sendM1() async throws {
        m1 = handshake.makeM1()
        try await socket.sendFrame(m1)
    }

    /// Reads M2 (nil) or what came instead.
    func readM2(timeout: Duration = .seconds(10)) async -> Outcome? {
        let read = await socket.readFrame(timeout: timeout, maxLength: 65_536)
        guard case .frame(let bytes) = read, bytes.first == 2 else { return Outcome(read) }
        m2 = bytes
        return nil
    }

    /// Handles M2; in PAIR mode returns the code and M3 (not yet sent).
    func handleM2() throws -> (code: String, m3: [UInt8])? {
        switch try handshake.handleM2(m2) {
        case .pairing(let code, let m3):
            self.code = code
            self.m3 = m3
            mode = SpecHandshake.pair
            return (code, m3)
        case .known:
            mode = SpecHandshake.known
            return nil
        }
    }

    /// Reads M4 (returned) or what came instead.
    func readM4(timeout: Duration = .seconds(20)) async -> Result<[UInt8], OutcomeBox> {
        let read = await socket.readFrame(timeout: timeout, maxLength: 65_536)
        guard case .frame(let bytes) = read, bytes.first == 4 else { return .failure(OutcomeBox(Outcome(read))) }
        return .success(bytes)
    }

    /// Checks M4, sends M5, exchanges the secretstream headers.
    func finish(m4: [UInt8]) async throws -> SecureSession {
        let (m5, outcome) = try handshake.handleM4(m4)
        self.m5 = m5
        try await socket.sendFrame(m5)
        let read = await socket.readFrame(timeout: .seconds(10), maxLength: 65_536)
        guard case .frame(let header) = read, header.count == 24 else {
            throw HarnessError("expected the agent's 24-byte stream header after M5, got \(read)")
        }
        let puller = try SecretStreamPuller(key: outcome.receiveKey, header: header)
        let pusher = try SecretStreamPusher(key: outcome.sendKey)
        try await socket.sendFrame(pusher.header)
        return SecureSession(socket: socket, pusher: pusher, puller: puller, agentKey: outcome.peerIdentity)
    }

    /// Handles M4 only (for wrong-code tests): the error if it does not verify.
    func checkM4(_ m4: [UInt8]) -> SpecError? {
        do {
            _ = try handshake.handleM4(m4)
            return nil
        } catch {
            return error as? SpecError ?? .malformed("M4: \(error)")
        }
    }
}

/// `Outcome` as an `Error`, for `Result`.
struct OutcomeBox: Error, CustomStringConvertible {
    let outcome: Outcome
    init(_ outcome: Outcome) { self.outcome = outcome }
    var description: String { outcome.description }
}

/// The test's own peer: an identity that can pair with an agent once and then open KNOWN
/// sessions, in which it sends anything.
final class HostileSender: @unchecked Sendable {
    let identity: SigningKeyPair
    let name: String
    private let lock = NSLock()
    private var pinnedAgentKey: [UInt8]?

    init(name: String, identity: SigningKeyPair = .generate()) {
        self.name = name
        self.identity = identity
    }

    var agentKey: [UInt8]? {
        lock.lock()
        defer { lock.unlock() }
        return pinnedAgentKey
    }

    func pin(_ key: [UInt8]) {
        lock.lock()
        pinnedAgentKey = key
        lock.unlock()
    }

    /// A KNOWN session with both stream headers exchanged (nothing sent yet).
    func openKnown(port: UInt16, source: String? = nil) async throws -> SecureSession {
        guard let pinned = agentKey else { throw HarnessError("the hostile peer has not paired yet") }
        let socket = try await PeerSocket.connect(port: port, source: source)
        let attempt = SenderAttempt(socket: socket, identity: identity, pinnedReceiver: pinned, summary: [])
        try await attempt.sendM1()
        if let refused = await attempt.readM2() { throw HarnessError("KNOWN handshake: no M2 but \(refused)") }
        guard try attempt.handleM2() == nil else { throw HarnessError("the agent answered PAIR to a pinned peer") }
        switch await attempt.readM4() {
        case .success(let m4):
            return try await attempt.finish(m4: m4)
        case .failure(let box):
            throw HarnessError("KNOWN handshake: no M4 but \(box)")
        }
    }

    /// A KNOWN session whose OFFER the agent accepted.
    func openAccepted(port: UInt16, offer: [UInt8], source: String? = nil) async throws -> SecureSession {
        let session = try await openKnown(port: port, source: source)
        let answer = try await session.offer(offer)
        guard case .accept = answer else {
            session.close()
            throw HarnessError("the agent did not accept a valid offer: \(answer)")
        }
        return session
    }
}
