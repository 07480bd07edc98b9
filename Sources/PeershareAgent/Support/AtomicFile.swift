import Foundation
import PeershareTransfer
import PeersharePosix
import SystemPackage

/// Small files (identity, pins) are replaced atomically: written to a temporary file in the
/// same directory with the final mode, fsynced, then renamed over the old one. A crash
/// leaves either the old or the new file, never half of one.
enum AtomicFile {
    /// Writes `bytes` to `path` with `mode` (open O_CREAT|O_EXCL on a temp name, write, fsync, rename).
    static func write(_ bytes: [UInt8], to path: String, mode: mode_t) throws(AgentError) {
        let temp = try writeTemporary(bytes, beside: path, mode: mode)
        guard rename(temp, path) == 0 else {
            let message = String(cString: strerror(errno))
            unlink(temp)
            throw AgentError(.io, "Cannot replace \(path): \(message)")
        }
    }

    /// Creates `path` with `bytes` and `mode` only if nothing is there: the whole file appears
    /// at once (`link` of a written temporary file, which never replaces), so two processes
    /// creating it at the same moment get one file, and the loser is told (false) to read it.
    static func create(_ bytes: [UInt8], at path: String, mode: mode_t) throws(AgentError) -> Bool {
        let temp = try writeTemporary(bytes, beside: path, mode: mode)
        defer { unlink(temp) }
        guard link(temp, path) == 0 else {
            if errno == EEXIST { return false }
            throw AgentError(.io, "Cannot create \(path): \(String(cString: strerror(errno)))")
        }
        return true
    }

    /// `bytes` in a new file beside `path` with `mode`, fsynced; returns its path.
    private static func writeTemporary(_ bytes: [UInt8], beside path: String, mode: mode_t) throws(AgentError) -> String {
        let temp = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else {
            throw AgentError(.io, "Cannot write \(path): \(String(cString: strerror(errno)))")
        }
        do {
            _ = try FileDescriptor(rawValue: fd).writeAll(bytes)
        } catch {
            close(fd)
            unlink(temp)
            throw AgentError(.io, "Cannot write \(path): \(error)")
        }
        fchmod(fd, mode)
        fsync(fd)
        close(fd)
        return temp
    }

    /// Reads a whole small file, refusing anything over `limit` bytes before reading it.
    /// Only a regular file is read: the open neither follows a symlink nor waits for a FIFO's
    /// writer (O_NONBLOCK), so a FIFO, device or link in its place is an error naming it.
    static func read(_ path: String, limit: Int) throws(AgentError) -> [UInt8]? {
        try readWithMode(path, limit: limit)?.bytes
    }

    /// `read`, also returning the file's mode (from the same open file, not a second lookup).
    static func readWithMode(_ path: String, limit: Int) throws(AgentError) -> (bytes: [UInt8], mode: mode_t)? {
        guard case let (fd, info)? = try openRegular(path) else { return nil }
        defer { close(fd) }
        guard info.st_size <= limit else {
            throw AgentError(.io, "\(path) is larger than \(limit) bytes; it is not a file peershare wrote")
        }
        var buffer = [UInt8](repeating: 0, count: Int(info.st_size))
        var offset = 0
        while offset < buffer.count {
            let count: Int
            do {
                count = try buffer.withUnsafeMutableBytes { raw throws(Errno) -> Int in
                    try SystemCall.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[offset...]))
                }
            } catch {
                throw AgentError(.io, "Cannot read \(path): \(error)")
            }
            if count == 0 { break }
            offset += count
        }
        return (Array(buffer[0..<offset]), info.st_mode)
    }

    /// Opens `path` for reading if it is a regular file; nil if there is none.
    private static func openRegular(_ path: String) throws(AgentError) -> (Int32, stat)? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)
        if fd < 0 {
            switch errno {
            case ENOENT: return nil
            case ELOOP: throw AgentError(.io, "\(path) is a symbolic link; peershare reads only a regular file there. Replace it with the file itself.")
            default: throw AgentError(.io, "Cannot read \(path): \(String(cString: strerror(errno)))")
            }
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw AgentError(.io, "Cannot read \(path): \(message)")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw AgentError(.io, "\(path) is not a regular file (\(fileType(info.st_mode))); peershare reads only a regular file there. Move it away.")
        }
        return (fd, info)
    }

    private static func fileType(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: "a FIFO"
        case S_IFDIR: "a directory"
        case S_IFCHR, S_IFBLK: "a device"
        case S_IFSOCK: "a socket"
        default: "not a regular file"
        }
    }
}
