import NIOCore
import PeershareCore
import SodiumKit

/// What `SecureChannel.receive()` returns: a decoded control message, or file bytes that
/// stay in the channel's buffer (valid until the next `receive`), so the hot path copies
/// nothing between decryption and `pwrite`.
enum Received {
    case message(StreamMessage, isFinal: Bool)
    case data(UnsafeRawBufferPointer, isFinal: Bool)
    /// A BATCH body (after the type byte), read with `StreamBatch.Reader`.
    case batch(UnsafeRawBufferPointer, isFinal: Bool)
}

/// The two secretstreams of an authenticated session, one per direction, over `FrameIO`.
///
/// Each side first sends its 24-byte secretstream header as a frame; every later frame is one
/// secretstream message whose plaintext is a `StreamMessage` (type byte + body). The last
/// message of each direction carries `TAG_FINAL`; the connection ending before it means the
/// transfer was cut short. A failed `pull` closes the session: it is never resynchronised.
///
/// Small ENTRY, DATA and HOLE messages are gathered into a BATCH in the send buffer
/// (`StreamBatch`) and sealed as one secretstream message when the next one does not fit,
/// when a message that cannot be batched follows, or at `flush`; so a tree of small files
/// costs one encryption and one frame per ~256 KiB, not two per file.
final class SecureChannel {
    let io: FrameIO
    private var pusher: SecretStreamPusher
    private var puller: SecretStreamPuller
    /// One plaintext buffer per direction, allocated once per session.
    private let sendBuffer: UnsafeMutableRawBufferPointer
    private let receiveBuffer: UnsafeMutableRawBufferPointer
    /// The batch being gathered in `sendBuffer` (empty when `sendBuffer` is free).
    private var batch: StreamBatch.Writer
    /// Where `enqueue` encodes a message, reused so an entry costs no allocation.
    private var encoded: [UInt8] = []
    private(set) var sentFinal = false
    private(set) var receivedFinal = false
    /// The session's protocol version (from M1): how OFFER, ACCEPT and HELLO are written.
    let version: ProtocolVersion
    /// The capabilities both sides agreed to (1.1: the receiver's ACCEPT); a feature sends
    /// its messages only when its bit is here.
    var capabilities: Capabilities = []

    private init(io: FrameIO, version: ProtocolVersion, pusher: consuming SecretStreamPusher, puller: consuming SecretStreamPuller) {
        self.io = io
        self.version = version
        self.pusher = pusher
        self.puller = puller
        sendBuffer = .allocate(byteCount: WireLimits.maxStreamMessage, alignment: 16)
        receiveBuffer = .allocate(byteCount: WireLimits.maxStreamMessage, alignment: 16)
        batch = StreamBatch.Writer(buffer: sendBuffer)
    }

    deinit {
        sendBuffer.initializeMemory(as: UInt8.self, repeating: 0)
        receiveBuffer.initializeMemory(as: UInt8.self, repeating: 0)
        sendBuffer.deallocate()
        receiveBuffer.deallocate()
    }

    /// Sends this side's header, reads the peer's, and raises the frame cap to the stream cap.
    static func establish(io: FrameIO, version: ProtocolVersion, sendKey: SecretKey, receiveKey: SecretKey,
                          timeout: Double) async throws(AgentError) -> SecureChannel {
        let pusher: SecretStreamPusher
        do {
            pusher = try SecretStreamPusher(key: sendKey)
        } catch {
            throw AgentError(.general, "Cannot start encryption: \(error)", underlying: error)
        }
        try await io.send(pusher.header)
        io.timer.arm(seconds: timeout, reason: "waiting for the peer to start its encrypted stream")
        let headerFrame = try await io.readFrame(waitingFor: "the peer's stream header")
        io.timer.disarm()
        let header = Array(headerFrame.readableBytesView)
        guard header.count == WireLimits.secretstreamHeader else {
            throw AgentError(.protocolError, "Protocol error: the peer's stream header has \(header.count) bytes, not \(WireLimits.secretstreamHeader).")
        }
        let puller: SecretStreamPuller
        do {
            puller = try SecretStreamPuller(key: receiveKey, header: header)
        } catch {
            throw AgentError(.protocolError, "Protocol error: bad stream header: \(error)", underlying: error)
        }
        io.limit.set(WireLimits.maxStreamFrame)
        return SecureChannel(io: io, version: version, pusher: pusher, puller: puller)
    }

    /// Queues one message: ENTRY and HOLE (not final) join the current BATCH; anything
    /// else seals the batch first and is encrypted on its own into FrameIO's batch.
    func enqueue(_ message: StreamMessage, final: Bool = false) throws(AgentError) {
        encoded.removeAll(keepingCapacity: true)
        message.encode(into: &encoded, version: version)
        let bytes = encoded
        guard bytes.count <= WireLimits.maxStreamMessage else {
            throw AgentError(.general, "Internal error: a message of \(bytes.count) bytes exceeds the stream limit.")
        }
        let batchable = !final && (message.type == StreamMessage.entryType || message.type == StreamMessage.holeType)
            && bytes.count <= StreamBatch.maxBatchedItem
        var failure: AgentError?
        bytes.withUnsafeBytes { plain in
            do throws(AgentError) {
                if batchable {
                    if batch.append(plain) { return }
                    try sealBatch()
                    if batch.append(plain) { return }
                }
                try sealBatch()
                try enqueuePlaintext(plain, final: final)
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }

    /// Queues a DATA message whose payload `fill` writes straight into the send buffer (at
    /// most `min(expected, WireLimits.maxChunk)` bytes, returning how many; `expected` is
    /// what is left of the file). Up to `StreamBatch.maxBatchedItem` it joins the current
    /// BATCH, else it is encrypted on its own. Returns the payload length, 0 meaning
    /// nothing was queued.
    func enqueueData(expected: UInt64, _ fill: (UnsafeMutableRawBufferPointer) throws(AgentError) -> Int) throws(AgentError) -> Int {
        let wanted = Int(min(max(expected, 1), UInt64(WireLimits.maxChunk)))
        if wanted + 1 <= StreamBatch.maxBatchedItem {
            if wanted + 1 > batch.room { try sealBatch() }
            return try batch.appendData(maxCount: wanted, fill)
        }
        try sealBatch()
        sendBuffer[0] = StreamMessage.dataType
        let payload = UnsafeMutableRawBufferPointer(rebasing: sendBuffer[1..<(1 + wanted)])
        let count = try fill(payload)
        guard count > 0 else { return 0 }
        try enqueuePlaintext(UnsafeRawBufferPointer(rebasing: sendBuffer[0..<(1 + count)]), final: false)
        return count
    }

    /// Encrypts the gathered BATCH, if any, into FrameIO's batch.
    func sealBatch() throws(AgentError) {
        guard !batch.isEmpty else { return }
        try enqueuePlaintext(batch.message, final: false)
        batch.reset()
    }

    private func enqueuePlaintext(_ plain: UnsafeRawBufferPointer, final: Bool) throws(AgentError) {
        guard !sentFinal else { throw AgentError(.general, "Internal error: message after the final one.") }
        let length = plain.count + SecretStreamPusher.overheadBytes
        do {
            try io.enqueue(length: length) { out in
                _ = try pusher.push(plain, final: final, into: out)
            }
        } catch {
            throw AgentError(.general, "Encryption failed: \(error)", underlying: error)
        }
        if final { sentFinal = true }
    }

    /// Sends one message and flushes.
    func send(_ message: StreamMessage, final: Bool = false) async throws(AgentError) {
        try enqueue(message, final: final)
        try await flush()
    }

    /// Seals the BATCH being gathered and hands everything queued to the socket.
    func flush() async throws(AgentError) {
        try sealBatch()
        try await io.flush()
    }

    /// Throws when the peer sent anything after its final message: bytes that arrived but
    /// were not read as frames (a frame after END sits in the inbound buffer). Checked before
    /// this side answers the final message, so the answer can say why.
    func checkNothingAfterFinal() throws(AgentError) {
        guard receivedFinal, io.unreadBytes > 0 else { return }
        throw AgentError(.protocolError, "Protocol error: the peer sent \(io.unreadBytes) more byte(s) after its final message.")
    }

    /// Reads, decrypts and decodes the next message. Anything after the peer's final message,
    /// a forged, replayed or reordered frame, or an undecodable message is an error.
    /// The plaintext goes into `buffer` (at least `WireLimits.maxStreamMessage` bytes) when
    /// given, else into the channel's own buffer; DATA and BATCH results point into it.
    func receive(waitingFor what: String, into buffer: UnsafeMutableRawBufferPointer? = nil) async throws(AgentError) -> Received {
        guard !receivedFinal else {
            throw AgentError(.protocolError, "Protocol error: the peer sent data after its final message.")
        }
        let frame = try await io.readFrame(waitingFor: what)
        guard frame.readableBytes > SecretStreamPusher.overheadBytes else {
            throw AgentError(.protocolError, "Protocol error: a frame of \(frame.readableBytes) bytes is shorter than the encryption overhead.")
        }
        let plainBuffer = buffer ?? receiveBuffer
        let pulled: (count: Int, tag: SecretStreamTag)
        do {
            pulled = try frame.withUnsafeReadableBytes { cipher in
                try puller.pullTagged(cipher, into: plainBuffer)
            }
        } catch {
            throw AgentError(.security, "The connection was tampered with or corrupted (a frame failed authentication); the session was closed.", underlying: error)
        }
        // Only MESSAGE, and FINAL on the last message, are part of the protocol; PUSH and
        // REKEY would change how the stream is read, and refusing is the safe default.
        guard pulled.tag == .message || pulled.tag == .final else {
            throw AgentError(.protocolError, "Protocol error: a message carrying the secretstream \(pulled.tag) tag (only MESSAGE, and FINAL on the last message, are allowed).")
        }
        let result = (count: pulled.count, isFinal: pulled.tag == .final)
        receivedFinal = result.isFinal
        guard result.count > 0 else {
            throw AgentError(.protocolError, "Protocol error: an empty message.")
        }
        let plain = UnsafeRawBufferPointer(rebasing: plainBuffer[0..<result.count])
        if plain[0] == StreamMessage.dataType {
            return .data(UnsafeRawBufferPointer(rebasing: plain[1...]), isFinal: result.isFinal)
        }
        if plain[0] == StreamMessage.batchType {
            return .batch(UnsafeRawBufferPointer(rebasing: plain[1...]), isFinal: result.isFinal)
        }
        do {
            return .message(try StreamMessage.decode(plain, version: version), isFinal: result.isFinal)
        } catch {
            throw AgentError(.protocolError, "Protocol error: \(error)", underlying: error)
        }
    }
}
