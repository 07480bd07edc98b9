import Glibc
import PeershareTransfer

/// One agent per state directory. Two agents on one home would share the identity key, the
/// pins and the partial area, and the second would take over the first one's control socket,
/// so the second is refused before it prints anything.
///
/// The lock is `flock(2)` on `agent.lock` in the state directory: the kernel drops it when the
/// process exits, however it exits, so a crashed agent never leaves a stale lock behind. The
/// file holds the owner's pid, for the message.
public final class AgentLock: Sendable {
    private let descriptor: Int32

    private init(descriptor: Int32) { self.descriptor = descriptor }

    deinit { close(descriptor) }

    public static func acquire(paths: StatePaths) throws(AgentError) -> AgentLock {
        try StatePaths.makeDirectory(paths.stateDirectory)
        let path = paths.stateDirectory + "/agent.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0o600)
        guard fd >= 0 else {
            let code = errno
            throw AgentError(.io, "Cannot open the agent lock \(path): \(String(cString: strerror(code))).")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            let owner = readOwner(fd)
            close(fd)
            guard code == EWOULDBLOCK else {
                throw AgentError(.io, "Cannot lock \(path): \(String(cString: strerror(code))).")
            }
            let who = owner.map { "pid \($0)" } ?? "another process"
            throw AgentError(.busy, "An agent is already running with the state directory \(paths.stateDirectory) (\(who)). Stop it first, or give this one its own --home.")
        }
        let pid = Array("\(getpid())\n".utf8)
        if ftruncate(fd, 0) == 0 {
            _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        }
        return AgentLock(descriptor: fd)
    }

    /// The pid the running agent wrote, if the file holds one.
    private static func readOwner(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 16)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        let digits = buffer.prefix(count).prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        return Int32(String(decoding: digits, as: UTF8.self))
    }
}
