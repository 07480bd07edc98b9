import Foundation

/// Small files (identity, pins) are replaced atomically: written to a temporary file in the
/// same directory with the final mode, fsynced, then renamed over the old one. A crash
/// leaves either the old or the new file, never half of one.
enum AtomicFile {
    /// Writes `bytes` to `path` with `mode` (open O_CREAT|O_EXCL on a temp name, write, fsync, rename).
    static func write(_ bytes: [UInt8], to path: String, mode: mode_t) throws(AgentError) {
        let temp = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else {
            throw AgentError(.io, "Cannot write \(path): \(String(cString: strerror(errno)))")
        }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                let message = String(cString: strerror(errno))
                close(fd)
                unlink(temp)
                throw AgentError(.io, "Cannot write \(path): \(message)")
            }
            offset += written
        }
        fchmod(fd, mode)
        fsync(fd)
        close(fd)
        guard rename(temp, path) == 0 else {
            let message = String(cString: strerror(errno))
            unlink(temp)
            throw AgentError(.io, "Cannot replace \(path): \(message)")
        }
    }

    /// Reads a whole small file, refusing anything over `limit` bytes before reading it.
    static func read(_ path: String, limit: Int) throws(AgentError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw AgentError(.io, "Cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw AgentError(.io, "Cannot read \(path): \(String(cString: strerror(errno)))")
        }
        guard info.st_size <= limit else {
            throw AgentError(.io, "\(path) is larger than \(limit) bytes; it is not a file peershare wrote")
        }
        var buffer = [UInt8](repeating: 0, count: Int(info.st_size))
        var offset = 0
        while offset < buffer.count {
            let count = buffer.withUnsafeMutableBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return Glibc.read(fd, base + offset, raw.count - offset)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw AgentError(.io, "Cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            offset += count
        }
        return Array(buffer[0..<offset])
    }
}
