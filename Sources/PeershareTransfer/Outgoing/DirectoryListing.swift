import Glibc
import PeersharePosix
internal import SystemPackage

/// One open directory being walked by `TreeReader`: its descriptor (for `*at` calls on its
/// children) and its child names as raw bytes, sorted.
struct DirectoryListing: ~Copyable {
    /// The `DIR *` from `fdopendir`, which owns the descriptor; `closedir` in `deinit`.
    private let stream: OpaquePointer
    /// `dirfd(stream)`, the base for `fstatat`, `openat` and `readlinkat` on children.
    let descriptor: Int32
    /// Child names (without `.` and `..`), sorted by bytes so the order is stable
    /// whatever the file system returns.
    let names: [[UInt8]]

    /// Takes ownership of `fd` (an open directory): `fdopendir`, then `readdir` until the end.
    init(taking fd: Int32, path: String) throws(SendError) {
        guard let stream = fdopendir(fd) else {
            let error = Errno(rawValue: Glibc.errno)
            SystemCall.close(fd)
            throw SendError.system(error, "cannot list directory", path)
        }
        var names: [[UInt8]] = []
        while true {
            Glibc.errno = 0
            guard let entry = readdir(stream) else {
                let code = Glibc.errno
                if code != 0 {
                    closedir(stream)
                    throw SendError.system(Errno(rawValue: code), "cannot list directory", path)
                }
                break
            }
            let name = Self.name(of: entry)
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            names.append(name)
        }
        names.sort { $0.lexicographicallyPrecedes($1) }
        self.stream = stream
        self.descriptor = dirfd(stream)
        self.names = names
    }

    /// The name of a `readdir` entry, read where it lies. Never copy the `struct dirent`
    /// (`entry.pointee`): glibc packs records of `d_reclen` bytes into its 32 KiB buffer, so
    /// the last one often ends before the 256 bytes of `d_name` would, and a copy reads past
    /// the buffer (AddressSanitizer: heap-buffer-overflow, on any directory of more than about
    /// a thousand entries). The name ends at its NUL, inside the record.
    private static func name(of entry: UnsafeMutablePointer<dirent>) -> [UInt8] {
        withUnsafeMutablePointer(to: &entry.pointee.d_name) { field in
            let start = UnsafeRawPointer(field)
            let length = strlen(start.assumingMemoryBound(to: CChar.self))
            return Array(UnsafeRawBufferPointer(start: start, count: length))
        }
    }

    deinit {
        closedir(stream)
    }
}
