import Foundation
import Glibc

/// What one attempt to read a frame produced.
enum FrameRead: Equatable, CustomStringConvertible {
    /// A whole frame's payload.
    case frame([UInt8])
    /// The peer closed (FIN) before a new frame started.
    case closed
    /// The connection was reset (RST).
    case reset
    /// The peer closed in the middle of a frame after `bytes` bytes of it.
    case truncated(bytes: Int)
    /// Nothing (or not a whole frame) arrived before the deadline.
    case timedOut
    /// The length prefix announced more than the reader accepts.
    case tooLarge(UInt32)

    var description: String {
        switch self {
        case .frame(let bytes): "frame of \(bytes.count) bytes (\(shown(Array(bytes.prefix(48)))))"
        case .closed: "connection closed"
        case .reset: "connection reset"
        case .truncated(let bytes): "connection closed after \(bytes) bytes of a frame"
        case .timedOut: "timed out"
        case .tooLarge(let length): "frame length \(length) over the reader's limit"
        }
    }

    /// True when the connection is gone.
    var isClosed: Bool {
        switch self {
        case .closed, .reset, .truncated: true
        default: false
        }
    }
}

enum SocketError: Error, CustomStringConvertible {
    case system(String, Int32)
    case connectTimedOut
    /// The peer closed or reset the connection while we were writing.
    case peerClosed(Int32)
    case sendTimedOut

    var description: String {
        switch self {
        case .system(let call, let code): "\(call) failed: \(String(cString: strerror(code)))"
        case .connectTimedOut: "connect timed out"
        case .peerClosed(let code): "the peer closed the connection while we were sending (\(String(cString: strerror(code))))"
        case .sendTimedOut: "send timed out (the peer stopped reading)"
        }
    }
}

/// A TCP client over loopback for playing a hostile peer: raw bytes and 4-byte big-endian
/// length frames, with deadlines on every read.
///
/// The descriptor is non-blocking and every wait is a short `Task.sleep` between attempts,
/// so a test waiting 15 s for a deadline never occupies one of the (two) cooperative threads;
/// the behaviour is that of a blocking client with `SO_RCVTIMEO`.
final class PeerSocket: @unchecked Sendable {
    private var fd: Int32
    private var buffer: [UInt8] = []
    private var sawEOF = false
    private var sawReset = false
    let connectedAt = ContinuousClock.now

    /// Takes ownership of a connected descriptor (made non-blocking).
    init(adopting fd: Int32) {
        self.fd = fd
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    deinit { close() }

    /// Connects to `127.0.0.1:port`, optionally from the loopback source address `source`
    /// (for example `127.0.0.9`, so rate limits per address can be tested; the destination
    /// is always 127.0.0.1).
    static func connect(port: UInt16, source: String? = nil, timeout: Duration = .seconds(5)) async throws -> PeerSocket {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = Glibc.socket(AF_INET, type, 0)
        guard fd >= 0 else { throw SocketError.system("socket", errno) }
        let socket = PeerSocket(adopting: fd)
        if let source {
            var local = try address(source, port: 0)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else { throw SocketError.system("bind \(source)", errno) }
        }
        var remote = try address("127.0.0.1", port: port)
        let result = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if result != 0 && errno != EINPROGRESS { throw SocketError.system("connect", errno) }
        let deadline = ContinuousClock.now + timeout
        while true {
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            if poll(&pfd, 1, 0) > 0 { break }
            if ContinuousClock.now >= deadline { throw SocketError.connectTimedOut }
            try await Task.sleep(for: .milliseconds(2))
        }
        var failure: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length)
        guard failure == 0 else { throw SocketError.system("connect", failure) }
        return socket
    }

    static func address(_ host: String, port: UInt16) throws -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { throw HarnessError("bad IPv4 address \(host)") }
        return address
    }

    var isOpen: Bool { fd >= 0 }

    func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    /// Sends every byte (waiting while the socket buffer is full, up to `timeout`).
    func send(_ bytes: [UInt8], timeout: Duration = .seconds(10)) async throws {
        guard fd >= 0 else { throw SocketError.peerClosed(EBADF) }
        var offset = 0
        let deadline = ContinuousClock.now + timeout
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return Glibc.send(fd, base + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent > 0 {
                offset += sent
                continue
            }
            let code = errno
            if sent < 0 && (code == EAGAIN || code == EWOULDBLOCK || code == EINTR) {
                if ContinuousClock.now >= deadline { throw SocketError.sendTimedOut }
                try await Task.sleep(for: .milliseconds(2))
                continue
            }
            if code == EPIPE || code == ECONNRESET { throw SocketError.peerClosed(code) }
            throw SocketError.system("send", code)
        }
    }

    /// Sends `payload` as one frame (4-byte big-endian length, then the bytes).
    func sendFrame(_ payload: [UInt8]) async throws {
        try await send(Frame.encode(payload))
    }

    /// Reads whatever arrives until `buffer` holds `count` bytes, the peer closes, or the deadline.
    private func fill(_ count: Int, deadline: ContinuousClock.Instant) async -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while buffer.count < count {
            if sawEOF || sawReset || fd < 0 { return false }
            let received = chunk.withUnsafeMutableBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return Glibc.recv(fd, base, raw.count, Int32(MSG_DONTWAIT))
            }
            if received > 0 {
                buffer.append(contentsOf: chunk[0..<received])
                continue
            }
            if received == 0 {
                sawEOF = true
                return false
            }
            let code = errno
            if code == ECONNRESET {
                sawReset = true
                return false
            }
            if code != EAGAIN && code != EWOULDBLOCK && code != EINTR {
                sawReset = true
                return false
            }
            if ContinuousClock.now >= deadline { return false }
            if !(await pause(.milliseconds(2))) { return false }
        }
        return true
    }

    /// The next frame, or why there is none.
    func readFrame(timeout: Duration = .seconds(10), maxLength: Int = 1 << 24) async -> FrameRead {
        let deadline = ContinuousClock.now + timeout
        guard await fill(4, deadline: deadline) else { return endState(partial: buffer.count) }
        let length = buffer[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard Int(length) <= maxLength else { return .tooLarge(length) }
        guard await fill(4 + Int(length), deadline: deadline) else { return endState(partial: buffer.count) }
        let payload = Array(buffer[4..<(4 + Int(length))])
        buffer.removeFirst(4 + Int(length))
        return .frame(payload)
    }

    private func endState(partial: Int) -> FrameRead {
        if sawReset { return partial > 0 ? .truncated(bytes: partial) : .reset }
        if sawEOF { return partial > 0 ? .truncated(bytes: partial) : .closed }
        return .timedOut
    }

    /// Reads and discards frames until the peer closes or `timeout` passes; returns the frames
    /// seen and how it ended (`.closed`, `.reset`, `.truncated` or `.timedOut`).
    func drainUntilClosed(timeout: Duration) async -> (frames: [[UInt8]], end: FrameRead) {
        let deadline = ContinuousClock.now + timeout
        var frames: [[UInt8]] = []
        while true {
            let left = deadline - ContinuousClock.now
            if left <= .zero { return (frames, .timedOut) }
            let read = await readFrame(timeout: left)
            if case .frame(let bytes) = read {
                frames.append(bytes)
                continue
            }
            return (frames, read)
        }
    }
}

/// The transport framing: a 4-byte big-endian length, then the payload.
enum Frame {
    static func header(_ length: UInt32) -> [UInt8] {
        [UInt8(length >> 24 & 0xff), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)]
    }

    static func encode(_ payload: [UInt8]) -> [UInt8] {
        header(UInt32(payload.count)) + payload
    }
}

/// The plaintext handshake abort notice: `7F` reason u8, BE16 length, UTF-8 text.
struct AbortNotice: Equatable, CustomStringConvertible {
    var reason: UInt8
    var text: String
    var rawText: [UInt8]

    static let declined: UInt8 = 1, wrongCode: UInt8 = 2, expired: UInt8 = 3, busy: UInt8 = 4
    static let protocolError: UInt8 = 5, cancelled: UInt8 = 6, security: UInt8 = 7

    init?(_ bytes: [UInt8]) {
        guard bytes.count >= 4, bytes[0] == 0x7F else { return nil }
        let length = Int(bytes[2]) << 8 | Int(bytes[3])
        guard bytes.count == 4 + length else { return nil }
        reason = bytes[1]
        rawText = Array(bytes[4...])
        text = String(decoding: rawText, as: UTF8.self)
    }

    init(reason: UInt8, text: String) {
        self.reason = reason
        self.text = text
        self.rawText = Array(text.utf8)
    }

    var encoded: [UInt8] {
        [0x7F, reason, UInt8(rawText.count >> 8 & 0xff), UInt8(rawText.count & 0xff)] + rawText
    }

    var description: String { "abort(reason \(reason), \"\(shown(rawText))\")" }
}

/// A listening socket on `127.0.0.1:port`, for playing a receiver that a real sender dials.
final class FakeListener: @unchecked Sendable {
    private var fd: Int32

    init(port: UInt16) throws {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        fd = Glibc.socket(AF_INET, type, 0)
        guard fd >= 0 else { throw SocketError.system("socket", errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = try PeerSocket.address("127.0.0.1", port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 8) == 0 else {
            let code = errno
            Glibc.close(fd)
            fd = -1
            throw SocketError.system("bind/listen 127.0.0.1:\(port)", code)
        }
    }

    deinit { close() }

    /// The port bound (the one asked for, or the kernel's choice for port 0).
    var port: UInt16 {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let status = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return status == 0 ? UInt16(bigEndian: address.sin_port) : 0
    }

    func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    /// The next connection, within `timeout`.
    func accept(timeout: Duration) async throws -> PeerSocket {
        let deadline = ContinuousClock.now + timeout
        while true {
            let connection = Glibc.accept(fd, nil, nil)
            if connection >= 0 { return PeerSocket(adopting: connection) }
            if ContinuousClock.now >= deadline { throw HarnessError("nobody connected within \(timeout)") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
