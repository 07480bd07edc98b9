internal import CSodium

/// Shared constants and state handling of `crypto_secretstream_xchacha20poly1305`.
///
/// The 52-byte libsodium state is kept in a heap block owned by one non-copyable value, so it can
/// never be duplicated (a copy would let two parties encrypt with the same key and nonce). The
/// block is allocated once at `init` and wiped with `sodium_memzero` in `deinit`.
enum SecretStreamState {
    typealias CState = crypto_secretstream_xchacha20poly1305_state

    static let headerBytes = Int(crypto_secretstream_xchacha20poly1305_headerbytes())
    static let overheadBytes = Int(crypto_secretstream_xchacha20poly1305_abytes())
    static let keyBytes = Int(crypto_secretstream_xchacha20poly1305_keybytes())
    /// The largest message libsodium accepts; above it libsodium aborts the process, so check first.
    static let maximumMessageBytes = Int(clamping: UInt(bitPattern: crypto_secretstream_xchacha20poly1305_messagebytes_max()))
    static let tagMessage = crypto_secretstream_xchacha20poly1305_tag_message()
    static let tagFinal = crypto_secretstream_xchacha20poly1305_tag_final()
    static let tagPush = crypto_secretstream_xchacha20poly1305_tag_push()
    static let tagRekey = crypto_secretstream_xchacha20poly1305_tag_rekey()

    static func allocate() -> UnsafeMutableRawPointer {
        let state = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<CState>.size,
                                                     alignment: MemoryLayout<CState>.alignment)
        state.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<CState>.size)
        _ = state.bindMemory(to: CState.self, capacity: 1)
        return state
    }

    /// A new state set up by `init_pull` from `header` under `key` (freed again on failure).
    static func pulling(key: SecretKey, header: [UInt8]) throws(SodiumError) -> UnsafeMutableRawPointer {
        Sodium.ensureInitialized()
        guard header.count == headerBytes else {
            throw .invalidHeaderLength(expected: headerBytes, actual: header.count)
        }
        let state = allocate()
        let result = header.withBytePointer { h in
            key.withUnsafePointer { k in
                crypto_secretstream_xchacha20poly1305_init_pull(state.assumingMemoryBound(to: CState.self), h, k)
            }
        }
        guard result == 0 else {
            free(state)
            throw .unexpectedFailure(function: "crypto_secretstream_xchacha20poly1305_init_pull", code: result)
        }
        return state
    }

    static func free(_ state: UnsafeMutableRawPointer) {
        sodium_memzero(state, MemoryLayout<CState>.size)
        state.deallocate()
    }
}

/// The tag a secretstream message carries. peershare sends only `message` and `final`; the
/// others exist so that a receiver can name (and refuse) them.
public enum SecretStreamTag: Sendable, Equatable, CustomStringConvertible {
    case message, push, rekey, final
    /// A tag byte libsodium does not define (it never returns one).
    case other(UInt8)

    init(byte: UInt8) {
        switch byte {
        case SecretStreamState.tagMessage: self = .message
        case SecretStreamState.tagPush: self = .push
        case SecretStreamState.tagRekey: self = .rekey
        case SecretStreamState.tagFinal: self = .final
        default: self = .other(byte)
        }
    }

    var byte: UInt8 {
        switch self {
        case .message: SecretStreamState.tagMessage
        case .push: SecretStreamState.tagPush
        case .rekey: SecretStreamState.tagRekey
        case .final: SecretStreamState.tagFinal
        case .other(let byte): byte
        }
    }

    public var description: String {
        switch self {
        case .message: "MESSAGE"
        case .push: "PUSH"
        case .rekey: "REKEY"
        case .final: "FINAL"
        case .other(let byte): "unknown tag \(byte)"
        }
    }
}

/// The sending half of a secretstream (`crypto_secretstream_xchacha20poly1305_init_push` / `_push`).
/// One per direction. Non-copyable: the state must never be duplicated.
///
/// `@unchecked Sendable` invariant: the state block is owned by this non-copyable value alone and
/// only changed through `mutating` methods, which need exclusive access.
public struct SecretStreamPusher: ~Copyable, @unchecked Sendable {
    /// Length of the header the receiver needs before the first message (24).
    public static let headerBytes: Int = SecretStreamState.headerBytes
    /// Bytes added to every message: 16-byte MAC plus 1 tag byte (ABYTES = 17).
    public static let overheadBytes: Int = SecretStreamState.overheadBytes

    private let state: UnsafeMutableRawPointer
    private var finished = false
    /// The header to send first (24 bytes); it is not secret.
    public let header: [UInt8]

    /// Starts a stream under `key` with a fresh random header (`init_push`).
    public init(key: SecretKey) throws(SodiumError) {
        Sodium.ensureInitialized()
        let state = SecretStreamState.allocate()
        var header = [UInt8](repeating: 0, count: SecretStreamState.headerBytes)
        let result = header.withMutableBytePointer { h in
            key.withUnsafePointer { k in
                crypto_secretstream_xchacha20poly1305_init_push(
                    state.assumingMemoryBound(to: SecretStreamState.CState.self), h, k)
            }
        }
        guard result == 0 else {
            SecretStreamState.free(state)
            throw .unexpectedFailure(function: "crypto_secretstream_xchacha20poly1305_init_push", code: result)
        }
        self.state = state
        self.header = header
    }

    /// Starts a stream under `key` with a given 24-byte `header`, for known-answer tests
    /// (docs/vectors) only: a header must never repeat under one key. `init_pull` sets exactly
    /// the state `init_push` sets after drawing its random header (HChaCha20 subkey, counter 1,
    /// the header's last 8 bytes as nonce), so the pushes that follow are those of a stream
    /// whose random header happened to be `header`.
    package init(key: SecretKey, header: [UInt8]) throws(SodiumError) {
        self.state = try SecretStreamState.pulling(key: key, header: header)
        self.header = header
    }

    deinit {
        SecretStreamState.free(state)
    }

    /// Encrypts `message` into `output`, which must have room for `message.count + 17` bytes;
    /// returns the number of bytes written. `final` marks the last message (`TAG_FINAL`), after
    /// which the stream refuses further pushes. Allocates nothing.
    public mutating func push(_ message: UnsafeRawBufferPointer, final: Bool,
                              into output: UnsafeMutableRawBufferPointer) throws(SodiumError) -> Int {
        try push(message, tag: final ? .final : .message, into: output)
    }

    /// Encrypts `message` with any `tag` (tests use it to play a peer that sends PUSH or REKEY).
    public mutating func push(_ message: UnsafeRawBufferPointer, tag: SecretStreamTag,
                              into output: UnsafeMutableRawBufferPointer) throws(SodiumError) -> Int {
        guard !finished else { throw .streamFinished }
        guard message.count <= SecretStreamState.maximumMessageBytes else { throw .messageTooLong(message.count) }
        let needed = message.count + SecretStreamState.overheadBytes
        guard output.count >= needed, let out = output.baseAddress else {
            throw .outputTooSmall(needed: needed, available: output.count)
        }
        let result = crypto_secretstream_xchacha20poly1305_push(
            state.assumingMemoryBound(to: SecretStreamState.CState.self),
            out.assumingMemoryBound(to: UInt8.self), nil,
            message.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(message.count),
            nil, 0,
            tag.byte)
        guard result == 0 else {
            throw .unexpectedFailure(function: "crypto_secretstream_xchacha20poly1305_push", code: result)
        }
        if tag == .final { finished = true }
        return needed
    }

    /// Encrypts `message` into a new array of `message.count + 17` bytes.
    public mutating func push(_ message: [UInt8], final: Bool) throws(SodiumError) -> [UInt8] {
        try push(message, tag: final ? .final : .message)
    }

    /// Encrypts `message` with any `tag` into a new array.
    public mutating func push(_ message: [UInt8], tag: SecretStreamTag) throws(SodiumError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: message.count + SecretStreamState.overheadBytes)
        var failure: SodiumError?
        message.withUnsafeBytes { input in
            output.withUnsafeMutableBytes { out in
                do throws(SodiumError) {
                    _ = try push(input, tag: tag, into: out)
                } catch {
                    failure = error
                }
            }
        }
        if let failure { throw failure }
        return output
    }
}

/// The receiving half of a secretstream (`crypto_secretstream_xchacha20poly1305_init_pull` /
/// `_pull`). Non-copyable: the state must never be duplicated.
///
/// `@unchecked Sendable` invariant: as for `SecretStreamPusher`.
public struct SecretStreamPuller: ~Copyable, @unchecked Sendable {
    private let state: UnsafeMutableRawPointer
    private var finished = false

    /// Starts reading a stream under `key` from its 24-byte `header` (`init_pull`).
    public init(key: SecretKey, header: [UInt8]) throws(SodiumError) {
        self.state = try SecretStreamState.pulling(key: key, header: header)
    }

    deinit {
        SecretStreamState.free(state)
    }

    /// Decrypts one ciphertext into `output` (room for `ciphertext.count - 17` bytes). Returns the
    /// bytes written and whether the message carried `TAG_FINAL`. Any failure (shorter than 17
    /// bytes, forged, replayed, reordered, or a message after the final one) throws; the caller then
    /// closes the session and never resynchronises. Callers cap the maximum length. Allocates nothing.
    public mutating func pull(_ ciphertext: UnsafeRawBufferPointer,
                              into output: UnsafeMutableRawBufferPointer) throws(SodiumError) -> (count: Int, isFinal: Bool) {
        let pulled = try pullTagged(ciphertext, into: output)
        return (pulled.count, pulled.tag == .final)
    }

    /// As `pull(_:into:)`, returning the message's tag itself (MESSAGE, PUSH, REKEY or FINAL),
    /// so that a protocol which uses only some of them can refuse the others.
    public mutating func pullTagged(_ ciphertext: UnsafeRawBufferPointer,
                                    into output: UnsafeMutableRawBufferPointer) throws(SodiumError) -> (count: Int, tag: SecretStreamTag) {
        guard !finished else { throw .streamFinished }
        guard ciphertext.count >= SecretStreamState.overheadBytes, let input = ciphertext.baseAddress else {
            throw .ciphertextTooShort(ciphertext.count)
        }
        let plainCount = ciphertext.count - SecretStreamState.overheadBytes
        guard plainCount <= SecretStreamState.maximumMessageBytes else { throw .messageTooLong(plainCount) }
        guard output.count >= plainCount else { throw .outputTooSmall(needed: plainCount, available: output.count) }
        var tag: UInt8 = 0
        var sink: UInt8 = 0
        let result = withUnsafeMutablePointer(to: &sink) { sinkPointer in
            crypto_secretstream_xchacha20poly1305_pull(
                state.assumingMemoryBound(to: SecretStreamState.CState.self),
                output.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? sinkPointer, nil, &tag,
                input.assumingMemoryBound(to: UInt8.self), UInt64(ciphertext.count),
                nil, 0)
        }
        guard result == 0 else { throw .streamDecryptionFailed }
        let pulled = SecretStreamTag(byte: tag)
        if pulled == .final { finished = true }
        return (plainCount, pulled)
    }

    /// Decrypts one ciphertext into a new array.
    public mutating func pull(_ ciphertext: [UInt8]) throws(SodiumError) -> (message: [UInt8], isFinal: Bool) {
        guard ciphertext.count >= SecretStreamState.overheadBytes else { throw .ciphertextTooShort(ciphertext.count) }
        var output = [UInt8](repeating: 0, count: ciphertext.count - SecretStreamState.overheadBytes)
        var outcome: Result<(count: Int, isFinal: Bool), SodiumError> = .failure(.streamDecryptionFailed)
        ciphertext.withUnsafeBytes { input in
            output.withUnsafeMutableBytes { out in
                do throws(SodiumError) {
                    outcome = .success(try pull(input, into: out))
                } catch {
                    outcome = .failure(error)
                }
            }
        }
        let pulled = try outcome.get()
        return (output, pulled.isFinal)
    }
}
