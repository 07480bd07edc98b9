import Glibc

/// What went wrong on a socket, in words for the relay's report.
enum RelayError: Error, CustomStringConvertible {
    case system(String, Int32)
    case timedOut(String)
    case closed(String)
    case badFrame(String)
    case usage(String)

    var description: String {
        switch self {
        case let .system(call, code): "\(call) failed: \(String(cString: strerror(code)))"
        case let .timedOut(what): "timed out waiting for \(what)"
        case let .closed(what): "the connection closed while waiting for \(what)"
        case let .badFrame(why): "bad frame: \(why)"
        case let .usage(why): why
        }
    }
}

/// An IPv4 or IPv6 address and port, parsed from "A.B.C.D:PORT" or "[V6]:PORT".
struct Endpoint: CustomStringConvertible {
    let host: String
    let port: UInt16

    init(parsing text: String) throws(RelayError) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            throw .usage("expected A.B.C.D:PORT or [V6]:PORT, got \(text)")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.host = host
        self.port = port
        _ = try socketAddress()
    }

    init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    var isIPv6: Bool { host.contains(":") }

    var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The address as a `sockaddr_storage` and its length, for bind and connect.
    func socketAddress() throws(RelayError) -> (storage: sockaddr_storage, length: socklen_t) {
        var storage = sockaddr_storage()
        if isIPv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, host, &address.sin6_addr) == 1 else { throw .usage("not an IPv6 address: \(host)") }
            withUnsafeMutableBytes(of: &storage) { target in withUnsafeBytes(of: address) { target.copyMemory(from: $0) } }
            return (storage, socklen_t(MemoryLayout<sockaddr_in6>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { throw .usage("not an IPv4 address: \(host)") }
        withUnsafeMutableBytes(of: &storage) { target in withUnsafeBytes(of: address) { target.copyMemory(from: $0) } }
        return (storage, socklen_t(MemoryLayout<sockaddr_in>.size))
    }

    /// The endpoint in a `sockaddr_storage` filled by accept or getsockopt; nil for another family.
    init?(_ storage: sockaddr_storage) {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            let address = withUnsafeBytes(of: &storage) { $0.loadUnaligned(as: sockaddr_in.self) }
            var raw = address.sin_addr
            inet_ntop(AF_INET, &raw, &text, socklen_t(text.count))
            port = UInt16(bigEndian: address.sin_port)
        case AF_INET6:
            let address = withUnsafeBytes(of: &storage) { $0.loadUnaligned(as: sockaddr_in6.self) }
            var raw = address.sin6_addr
            inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count))
            port = UInt16(bigEndian: address.sin6_port)
        default:
            return nil
        }
        host = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Waits until `fd` is readable or `seconds` pass; false on timeout.
func waitReadable(_ fd: Int32, seconds: Double) throws(RelayError) -> Bool {
    var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    while true {
        let result = poll(&entry, 1, Int32(max(0, seconds * 1000)))
        if result > 0 { return true }
        if result == 0 { return false }
        if errno != EINTR { throw .system("poll", errno) }
    }
}

/// One TCP connection with blocking I/O; reads take a deadline, so a silent peer cannot
/// hold the relay forever.
final class TCPConnection {
    let fd: Int32
    let peer: String

    init(fd: Int32, peer: String) {
        self.fd = fd
        self.peer = peer
    }

    deinit { close(fd) }

    static func connect(to endpoint: Endpoint) throws(RelayError) -> TCPConnection {
        var (address, length) = try endpoint.socketAddress()
        let fd = socket(endpoint.isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw .system("socket", errno) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw .system("connect to \(endpoint)", code)
        }
        return TCPConnection(fd: fd, peer: endpoint.description)
    }

    /// Up to `maximum` bytes as they come; empty at end of stream.
    func readSome(maximum: Int = 65_536) throws(RelayError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maximum)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, maximum, 0) }
            if count >= 0 { return Array(buffer.prefix(count)) }
            if errno != EINTR { throw .system("recv", errno) }
        }
    }

    func readExactly(_ count: Int, what: String, seconds: Double) throws(RelayError) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        while bytes.count < count {
            guard try waitReadable(fd, seconds: seconds) else { throw .timedOut(what) }
            let chunk = try readSome(maximum: count - bytes.count)
            guard !chunk.isEmpty else { throw .closed(what) }
            bytes += chunk
        }
        return bytes
    }

    /// One frame (4-byte big-endian length, then the payload); the length is checked
    /// against `cap` before the payload is read.
    func readFrame(cap: Int, what: String, seconds: Double) throws(RelayError) -> [UInt8] {
        let prefix = try readExactly(4, what: what, seconds: seconds)
        let length = prefix.reduce(0) { $0 << 8 | Int($1) }
        guard length > 0, length <= cap else { throw .badFrame("length \(length) for \(what), cap \(cap)") }
        return try readExactly(length, what: what, seconds: seconds)
    }

    func writeAll(_ bytes: [UInt8]) throws(RelayError) {
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return send(fd, base + sent, buffer.count - sent, Int32(MSG_NOSIGNAL))
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw .system("send", errno)
            }
            sent += count
        }
    }

    func writeFrame(_ payload: [UInt8]) throws(RelayError) {
        let length = UInt32(payload.count)
        try writeAll([UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)] + payload)
    }

    /// Where the peer meant to connect before a DNAT rule sent the connection here
    /// (`SO_ORIGINAL_DST`, from the kernel's connection tracking): for a transparent relay,
    /// the real receiver's address. Without a NAT rule it is the relay's own address.
    func originalDestination() throws(RelayError) -> Endpoint {
        // SO_ORIGINAL_DST (linux/netfilter_ipv4.h) and IP6T_SO_ORIGINAL_DST
        // (linux/netfilter_ipv6/ip6_tables.h) are both 80; Glibc does not export them.
        let soOriginalDst: Int32 = 80
        var local = sockaddr_storage()
        var localLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &localLength) }
        }
        guard named == 0 else { throw .system("getsockname", errno) }
        let level = Int32(local.ss_family) == AF_INET6 ? Int32(IPPROTO_IPV6) : Int32(IPPROTO_IP)
        var original = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        guard getsockopt(fd, level, soOriginalDst, &original, &length) == 0 else {
            throw .system("getsockopt SO_ORIGINAL_DST", errno)
        }
        guard let endpoint = Endpoint(original) else { throw .usage("SO_ORIGINAL_DST gave an unknown address family") }
        return endpoint
    }

    func shutdownWrite() { _ = shutdown(fd, Int32(SHUT_WR)) }

    /// Ends the session in both directions now (the descriptor is closed on release).
    func hangUp() { _ = shutdown(fd, Int32(SHUT_RDWR)) }
}

/// A listening TCP socket.
final class TCPListener {
    let fd: Int32

    init(_ endpoint: Endpoint) throws(RelayError) {
        var (address, length) = try endpoint.socketAddress()
        fd = socket(endpoint.isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw .system("socket", errno) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw .system("bind \(endpoint)", errno) }
        guard listen(fd, 8) == 0 else { throw .system("listen", errno) }
    }

    deinit { close(fd) }

    func accept(seconds: Double) throws(RelayError) -> TCPConnection {
        guard try waitReadable(fd, seconds: seconds) else { throw .timedOut("a connection") }
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let client = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.accept(fd, $0, &length) }
        }
        guard client >= 0 else { throw .system("accept", errno) }
        return TCPConnection(fd: client, peer: Endpoint(address)?.description ?? "?")
    }
}
