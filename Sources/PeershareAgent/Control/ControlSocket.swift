internal import CPeershareSys
import Glibc
import PeershareTransfer

/// The client's connection to the control socket, made by hand (not by SwiftNIO) so that
/// the server's uid can be checked on the descriptor before a single byte is written: a
/// socket in a directory another user controls could be that user's, and `accept 428913`
/// would then hand it a pairing code.
enum ControlSocket {
    /// Connects to the Unix socket at `path` and checks, with `SO_PEERCRED`, that the
    /// process serving it runs as `expectedUID`. Returns the connected, non-blocking
    /// descriptor; nil when nothing listens there. A socket this user may not connect to
    /// (permission denied) is an error, not "nothing listens".
    static func connect(_ path: String, expectedUID: uid_t = geteuid()) throws(AgentError) -> Int32? {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw AgentError(.usage, "The control socket path \(path) is too long for a Unix socket.")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else {
            throw AgentError(.io, "Cannot make a socket: \(String(cString: strerror(errno)))")
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            // A socket this user may not reach is not "no agent": it is someone else's.
            if code == EACCES || code == EPERM {
                throw AgentError(.security, "Cannot reach the control socket \(path): \(String(cString: strerror(code))). It or its directory belongs to another user; nothing was sent. Set XDG_RUNTIME_DIR (or --home) to a directory of your own.")
            }
            return nil
        }
        do {
            try checkServer(fd, path: path, expectedUID: expectedUID)
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// Refuses a control socket served by another uid than `expectedUID`.
    static func checkServer(_ fd: Int32, path: String, expectedUID: uid_t) throws(AgentError) {
        var uid: uid_t = 0
        guard psys_peer_uid(fd, &uid) == 0 else {
            throw AgentError(.security, "Cannot check who serves \(path): \(String(cString: strerror(errno))). Nothing was sent.")
        }
        guard uid == expectedUID else {
            throw AgentError(.security, "Refusing to talk to \(path): it is served by uid \(uid), not by you (uid \(expectedUID)). Another user may have taken over its directory; nothing was sent. Remove that directory (or have root remove it), or set XDG_RUNTIME_DIR to a directory of your own, then start your agent again.")
        }
    }
}
