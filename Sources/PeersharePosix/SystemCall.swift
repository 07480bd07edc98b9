import Glibc
package import CPeershareSys
import SystemPackage

/// The raw system calls the inbox writer and the tree reader make, each retried on EINTR
/// in one place and failing with a typed `Errno`.
///
/// swift-system's `FileDescriptor` has no `*at` calls, so directory-relative operations
/// (`mkdirat`, `symlinkat`, `renameat2`, `openat2`, ...) live here; plain reads and writes
/// on an open file use `FileDescriptor`.
package enum SystemCall {
    /// Runs `body` until it does not fail with EINTR. Returns its non-negative result.
    @inline(__always)
    package static func retrying(_ body: () -> Int32) throws(Errno) -> Int32 {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = Glibc.errno
            if code != EINTR { throw Errno(rawValue: code) }
        }
    }

    /// Like `retrying(_:)` for calls that return a byte count (`readlinkat`).
    @inline(__always)
    package static func retryingCount(_ body: () -> Int) throws(Errno) -> Int {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = Glibc.errno
            if code != EINTR { throw Errno(rawValue: code) }
        }
    }

    /// The process umask, from the `Umask:` line of `/proc/self/status` (read once; nil if
    /// that line is missing). Read there because `umask(2)` can only be read by changing
    /// it, which would race with other threads creating files.
    package static let processUmask: mode_t? = {
        let fd = Glibc.open("/proc/self/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        let text = String(decoding: bytes[..<count], as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Umask:") }),
              let value = mode_t(line.dropFirst("Umask:".count).trimmingPrefix(while: { $0 == " " || $0 == "\t" }), radix: 8)
        else { return nil }
        return value
    }()

    /// `openat2(dirfd, path, flags, 0, RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS)`:
    /// opens `path` only if every component resolves below `dirfd` without crossing any
    /// symlink (hostile-inputs.md items 12 and 13). The shim retries EINTR itself.
    package static func openBeneath(_ dirfd: Int32, _ path: String, flags: Int32) throws(Errno) -> Int32 {
        let resolve = PSYS_RESOLVE_BENEATH | PSYS_RESOLVE_NO_SYMLINKS | PSYS_RESOLVE_NO_MAGICLINKS
        let fd = psys_openat2(dirfd, path, UInt64(UInt32(bitPattern: flags)), 0, resolve)
        if fd < 0 { throw Errno(rawValue: Glibc.errno) }
        return fd
    }

    /// `openat(dirfd, name, flags, mode)`.
    package static func openAt(_ dirfd: Int32, _ name: String, flags: Int32, mode: mode_t = 0) throws(Errno) -> Int32 {
        try retrying { Glibc.openat(dirfd, name, flags, mode) }
    }

    /// `mkdirat(dirfd, name, mode)`: fails with EEXIST if anything (even a dangling symlink) has the name.
    package static func makeDirectory(_ dirfd: Int32, _ name: String, mode: mode_t) throws(Errno) {
        _ = try retrying { Glibc.mkdirat(dirfd, name, mode) }
    }

    /// `symlinkat(target, dirfd, name)`: never replaces an existing name.
    package static func makeSymlink(target: String, _ dirfd: Int32, _ name: String) throws(Errno) {
        _ = try retrying { Glibc.symlinkat(target, dirfd, name) }
    }

    /// `renameat2(dirfd, from, dirfd, to, RENAME_NOREPLACE)`: the atomic, never-replacing
    /// claim of a final name. On file systems without RENAME_NOREPLACE (EINVAL) it falls
    /// back to `linkat` (which also fails with EEXIST) followed by `unlinkat(from)`.
    package static func renameNoReplace(_ dirfd: Int32, from: String, to: String) throws(Errno) {
        do {
            _ = try retrying { psys_renameat2(dirfd, from, dirfd, to, PSYS_RENAME_NOREPLACE) }
        } catch where error == .invalidArgument {
            _ = try retrying { Glibc.linkat(dirfd, from, dirfd, to, 0) }
            _ = Glibc.unlinkat(dirfd, from, 0)
        }
    }

    /// `renameat2(fromDir, from, toDir, to, RENAME_NOREPLACE)` between two directories of
    /// the inbox (a file finished in the partial area moves to its final name), with the
    /// same `linkat` fallback as `renameNoReplace`.
    package static func renameNoReplace(_ fromDir: Int32, _ from: String, to toDir: Int32, _ to: String) throws(Errno) {
        do {
            _ = try retrying { psys_renameat2(fromDir, from, toDir, to, PSYS_RENAME_NOREPLACE) }
        } catch where error == .invalidArgument {
            _ = try retrying { Glibc.linkat(fromDir, from, toDir, to, 0) }
            _ = Glibc.unlinkat(fromDir, from, 0)
        }
    }

    /// `O_TMPFILE`, for `openAt(dir, ".", flags: unnamedFileFlag | O_WRONLY, mode:)`.
    package static let unnamedFileFlag = PSYS_O_TMPFILE

    /// `linkat` of a nameless `O_TMPFILE` file to `name` in `dirfd` (`AT_EMPTY_PATH`, or
    /// through `/proc/self/fd` where the kernel refuses that); never replaces an existing
    /// name (EEXIST).
    package static func linkUnnamed(_ fd: Int32, to dirfd: Int32, _ name: String) throws(Errno) {
        _ = try retrying { psys_link_unnamed(fd, dirfd, name) }
    }

    /// `unlinkat(dirfd, name, flags)`; `AT_REMOVEDIR` removes only an empty directory.
    package static func unlink(_ dirfd: Int32, _ name: String, flags: Int32 = 0) throws(Errno) {
        _ = try retrying { Glibc.unlinkat(dirfd, name, flags) }
    }

    /// `fchmod(fd, mode)`.
    package static func changeMode(_ fd: Int32, _ mode: UInt32) throws(Errno) {
        _ = try retrying { Glibc.fchmod(fd, mode_t(mode)) }
    }

    /// `futimens(fd, [UTIME_OMIT, mtime])`: sets the modification time, leaves the access time.
    package static func setModificationTime(_ fd: Int32, _ mtime: timespec) throws(Errno) {
        let times = [timespec(tv_sec: 0, tv_nsec: PSYS_UTIME_OMIT), mtime]
        _ = try retrying { times.withUnsafeBufferPointer { Glibc.futimens(fd, $0.baseAddress) } }
    }

    /// `utimensat(dirfd, name, [UTIME_OMIT, mtime], AT_SYMLINK_NOFOLLOW)`: the only way to
    /// set a symlink's own time (a symlink cannot be opened for `futimens`).
    package static func setSymlinkModificationTime(_ dirfd: Int32, _ name: String, _ mtime: timespec) throws(Errno) {
        let times = [timespec(tv_sec: 0, tv_nsec: PSYS_UTIME_OMIT), mtime]
        _ = try retrying {
            times.withUnsafeBufferPointer { Glibc.utimensat(dirfd, name, $0.baseAddress, AT_SYMLINK_NOFOLLOW) }
        }
    }

    /// `fstat(fd)`.
    package static func status(_ fd: Int32) throws(Errno) -> stat {
        var info = stat()
        _ = try retrying { Glibc.fstat(fd, &info) }
        return info
    }

    /// `fstatat(dirfd, name, AT_SYMLINK_NOFOLLOW)`: describes a symlink itself, never its target.
    package static func statusNoFollow(_ dirfd: Int32, _ name: String) throws(Errno) -> stat {
        var info = stat()
        _ = try retrying { Glibc.fstatat(dirfd, name, &info, AT_SYMLINK_NOFOLLOW) }
        return info
    }

    /// `readlinkat(dirfd, name)`: the raw bytes of a symlink's target (at most `PATH_MAX`).
    package static func readLink(_ dirfd: Int32, _ name: String) throws(Errno) -> [UInt8] {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let capacity = buffer.count
        let count = try retryingCount { Glibc.readlinkat(dirfd, name, &buffer, capacity) }
        if count > Int(PATH_MAX) { throw Errno.fileNameTooLong }
        return buffer[0..<count].map { UInt8(bitPattern: $0) }
    }

    /// `pread(fd, buffer, count, offset)`: the bytes read (0 at the end of the file).
    package static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(Errno) -> Int {
        try retryingCount { Glibc.pread(fd, buffer.baseAddress, buffer.count, off_t(offset)) }
    }

    /// `read(fd, buffer, count)`: the bytes read (0 at the end of the file).
    package static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        try retryingCount { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// `write(fd, buffer, count)`: the bytes written.
    package static func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer) throws(Errno) -> Int {
        try retryingCount { Glibc.write(fd, buffer.baseAddress, buffer.count) }
    }

    /// `faccessat(dirfd, name, mode, flags)`.
    package static func checkAccess(_ dirfd: Int32, _ name: String, mode: Int32, flags: Int32) throws(Errno) {
        _ = try retrying { Glibc.faccessat(dirfd, name, mode, flags) }
    }

    /// `flock(fd, operation)`: waits for the lock unless `operation` has `LOCK_NB`.
    package static func lock(_ fd: Int32, _ operation: Int32) throws(Errno) {
        _ = try retrying { flock(fd, operation) }
    }

    /// `close(fd)`. Never retried: on Linux the descriptor is gone even when close reports EINTR.
    package static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// The human text for an errno (`strerror`), through swift-system's `Errno`.
    package static func describe(_ code: Int32) -> String {
        Errno(rawValue: code).description
    }

    /// A `timespec` for an entry's modification time; nanoseconds are clamped to the valid range.
    package static func timespecFor(seconds: Int64, nanoseconds: UInt32) -> timespec {
        timespec(tv_sec: Int(seconds), tv_nsec: Int(min(nanoseconds, 999_999_999)))
    }
}
