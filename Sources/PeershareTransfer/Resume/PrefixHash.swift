import Glibc
import PeershareCore
import PeersharePosix
import SodiumKit

/// `crypto_generichash(32)` of the first bytes of an open file, read with `pread` in 1 MiB
/// pieces: the check that both sides hold the same prefix before a file continues.
enum PrefixHash {
    static func compute(fd: Int32, length: UInt64) -> [UInt8]? {
        guard let hash = try? GenericHashStream(outputLength: ResumeRecord.prefixHashBytes) else { return nil }
        let bufferSize = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 16)
        defer { buffer.deallocate() }
        var offset: UInt64 = 0
        while offset < length {
            let wanted = Int(min(UInt64(bufferSize), length - offset))
            let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<wanted])
            guard let count = try? SystemCall.read(fd, into: piece, at: offset), count > 0 else { return nil }
            hash.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            offset += UInt64(count)
        }
        return hash.finish()
    }

    /// Same for a source file by path (`open(O_RDONLY|O_NOFOLLOW)`): the sender's side.
    static func compute(path: String, length: UInt64) -> [UInt8]? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        defer { SystemCall.close(fd) }
        return compute(fd: fd, length: length)
    }
}
