import Glibc
import PeersharePosix
internal import CPeershareSys
internal import SystemPackage
import PeershareCore

/// One piece of a file being sent.
package enum FilePiece: Sendable, Equatable {
    /// This many bytes were placed at the start of the caller's buffer.
    case data(Int)
    /// A run of this many zero bytes the file stores as a hole; nothing was read.
    case hole(UInt64)
    /// The declared size has been delivered.
    case end
}

/// One open source file, read in order with holes reported instead of read.
///
/// Never delivers more than `expectedSize` bytes in total; a file that shrank or grew
/// since the plan fails with `.changedWhileSending` rather than sending something that
/// is neither the old nor the new file. Not thread-safe.
package final class FileSource {
    /// Only holes at least this long are reported; shorter ones are read as data (zeros),
    /// so a file with many tiny holes does not turn into many tiny pieces.
    package static let minimumHole: UInt64 = 64 * 1024

    private var descriptor: FileDescriptor?
    private let path: String
    private let expectedSize: UInt64
    /// Bytes delivered so far (data and holes).
    private var offset: UInt64 = 0
    /// Known end of the data run that starts at or before `offset`, including small holes
    /// merged into it; `offset` itself when unknown.
    private var dataEnd: UInt64 = 0
    /// Files below this size are read as plain data, without hole detection.
    static let smallFile: UInt64 = 2 * minimumHole
    /// The read that reached the declared size also found that nothing follows it, so
    /// `.end` needs no `fstat` to know the file did not grow.
    private var endConfirmed = false
    /// A file that grows or shrinks while it is sent is noticed within this many bytes (one
    /// `fstat` each time), not only at its end, which for a large file can be minutes later.
    static let checkInterval: UInt64 = 16 << 20
    /// The offset at which the next such `fstat` is due.
    private var nextCheck: UInt64 = checkInterval

    /// `open(path, O_RDONLY|O_CLOEXEC|O_NOFOLLOW)` (relative to the already open directory
    /// when `directories` is given), `fstat` (must be a regular file of `expectedSize`
    /// bytes, else `.changedWhileSending`), `posix_fadvise(SEQUENTIAL)`.
    init(path: String, expectedSize: UInt64, directories: SourceDirectories?) throws(SendError) {
        self.path = path
        self.expectedSize = expectedSize
        let fd: Int32
        do {
            let flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW
            if let directories {
                fd = try directories.open(path, flags: flags)
            } else {
                fd = try SystemCall.retrying { Glibc.open(path, flags) }
            }
        } catch {
            throw SendError.system(error, "cannot open", path)
        }
        let info: stat
        do {
            info = try SystemCall.status(fd)
        } catch {
            SystemCall.close(fd)
            throw SendError.system(error, "cannot read", path)
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            SystemCall.close(fd)
            throw Self.changed(path, "it is no longer a regular file")
        }
        if let resized = Self.sizeChange(info, path: path, expectedSize: expectedSize) {
            SystemCall.close(fd)
            throw resized
        }
        if expectedSize < Self.smallFile {
            // A small file cannot hold a hole worth reporting next to its data, and its
            // read-ahead is one read: skip the lseek(SEEK_DATA/SEEK_HOLE) and fadvise calls,
            // which would be most of the per-file system calls of a tree of small files.
            dataEnd = expectedSize
        } else {
            _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        }
        descriptor = FileDescriptor(rawValue: fd)
    }

    /// `open(path, O_RDONLY|O_CLOEXEC|O_NOFOLLOW)`, then as above.
    package convenience init(path: String, expectedSize: UInt64) throws(SendError) {
        try self.init(path: path, expectedSize: expectedSize, directories: nil)
    }

    deinit {
        try? descriptor?.close()
    }

    /// The next piece: `.hole(n)` for a run of at least `minimumHole` unallocated bytes found
    /// with `lseek(SEEK_DATA/SEEK_HOLE)`, `.data(n)` after `pread` of up to `buffer.count`
    /// bytes into `buffer`, or `.end` once `expectedSize` bytes were delivered (then one
    /// `fstat` checks the file did not grow; one more every `checkInterval` bytes). File
    /// systems without hole support read as data.
    /// `buffer` should not be empty: an empty one can only yield `.data(0)`.
    package func next(into buffer: UnsafeMutableRawBufferPointer) throws(SendError) -> FilePiece {
        guard let descriptor else {
            throw SendError(.io, "'\(DisplayEscape.escape(path))' was already closed")
        }
        if offset >= expectedSize {
            if !endConfirmed { try checkUnchanged(descriptor) }
            return .end
        }
        if offset >= nextCheck {
            try checkUnchanged(descriptor)
            nextCheck = offset + Self.checkInterval
        }
        if offset >= dataEnd {
            let dataStart = dataStart(descriptor, from: offset)
            if dataStart > offset, dataStart - offset >= Self.minimumHole {
                let length = dataStart - offset
                offset = dataStart
                dataEnd = dataStart
                return .hole(length)
            }
            dataEnd = dataRunEnd(descriptor, from: offset, lookahead: UInt64(buffer.count))
            if dataEnd <= offset {
                // The file system contradicted itself (or the file changed between the
                // two lseeks): read a buffer as data, which is always correct.
                dataEnd = offset + min(UInt64(buffer.count), expectedSize - offset)
            }
        }
        let wanted = Int(min(UInt64(buffer.count), dataEnd - offset))
        guard wanted > 0 else { return .data(0) }
        let target = UnsafeMutableRawBufferPointer(rebasing: buffer[..<wanted])
        let count: Int
        if offset + UInt64(wanted) == expectedSize {
            count = try readLast(descriptor, into: target)
        } else {
            do {
                count = try descriptor.read(fromAbsoluteOffset: Int64(offset), into: target, retryOnInterrupt: true)
            } catch {
                throw SendError.system(error as? Errno ?? .ioError, "cannot read", path)
            }
        }
        if count == 0 {
            throw Self.changed(path, "it ended after \(offset) of \(expectedSize) bytes")
        }
        offset += UInt64(count)
        return .data(count)
    }

    /// The read that should reach the declared size: `preadv` into `target` and one spare
    /// byte. A byte in the spare means the file grew (`.changedWhileSending`); a full
    /// `target` and an empty spare mean it ends where planned, which saves the `fstat` at
    /// `.end` (one of five system calls per small file). A short read is returned as it
    /// is; the next read then finds the end early and reports the file as shrunk.
    private func readLast(_ descriptor: FileDescriptor, into target: UnsafeMutableRawBufferPointer) throws(SendError) -> Int {
        var spare: UInt8 = 0
        let position = off_t(offset)
        let count = withUnsafeMutablePointer(to: &spare) { sparePointer in
            withUnsafeTemporaryAllocation(of: iovec.self, capacity: 2) { vectors in
                vectors.initialize(repeating: iovec())
                vectors[0] = iovec(iov_base: target.baseAddress, iov_len: target.count)
                vectors[1] = iovec(iov_base: UnsafeMutableRawPointer(sparePointer), iov_len: 1)
                return Result { () throws(Errno) in
                    try SystemCall.retryingCount { Glibc.preadv(descriptor.rawValue, vectors.baseAddress, 2, position) }
                }
            }
        }
        switch count {
        case .failure(let error):
            throw SendError.system(error, "cannot read", path)
        case .success(let count) where count > target.count:
            throw Self.changed(path, "it grew beyond the \(expectedSize) bytes that were planned")
        case .success(let count):
            endConfirmed = count == target.count
            return count
        }
    }

    /// Resume: the first `position` bytes are at the receiver already; the next piece
    /// starts there (no more than the expected size).
    package func skip(to position: UInt64) {
        offset = min(position, expectedSize)
        if dataEnd < offset { dataEnd = offset }
        nextCheck = offset + Self.checkInterval
    }

    /// Closes the file (`close`). Idempotent.
    package func close() {
        try? descriptor?.close()
        descriptor = nil
    }

    /// The end of the data that starts at `start`, merging holes shorter than
    /// `minimumHole` into it. Scans with `lseek` only until `lookahead` bytes of data are
    /// known, so a file with many small holes costs a few calls per buffer, not per file.
    private func dataRunEnd(_ descriptor: FileDescriptor, from start: UInt64, lookahead: UInt64) -> UInt64 {
        let wanted = start + min(lookahead, expectedSize - start)
        var position = start
        while true {
            let holeStart = holeStart(descriptor, from: position)
            if holeStart >= expectedSize { return expectedSize }
            if holeStart >= wanted { return holeStart }
            let nextData = dataStart(descriptor, from: holeStart)
            // No progress means contradictory answers: stop scanning, read as data.
            if nextData <= position { return wanted }
            if nextData - holeStart >= Self.minimumHole { return holeStart }
            if nextData >= expectedSize { return expectedSize }
            position = nextData
        }
    }

    /// `lseek(fd, offset, SEEK_DATA)`: where the next data starts, clamped to the size.
    /// ENXIO (only a hole follows) gives the size; any other failure gives `offset`
    /// (treat it as data: the file system cannot tell).
    private func dataStart(_ descriptor: FileDescriptor, from offset: UInt64) -> UInt64 {
        do {
            let result = try descriptor.seek(offset: Int64(offset), from: FileDescriptor.SeekOrigin(rawValue: PSYS_SEEK_DATA))
            return min(UInt64(max(Int64(offset), result)), expectedSize)
        } catch let error as Errno where error == .noSuchAddressOrDevice {
            return expectedSize
        } catch {
            return offset
        }
    }

    /// `lseek(fd, offset, SEEK_HOLE)`: where the next hole starts (the end of the file
    /// counts as one), clamped to the size. Any failure gives the size (all data).
    private func holeStart(_ descriptor: FileDescriptor, from offset: UInt64) -> UInt64 {
        guard let result = try? descriptor.seek(offset: Int64(offset), from: FileDescriptor.SeekOrigin(rawValue: PSYS_SEEK_HOLE)) else { return expectedSize }
        return min(UInt64(max(Int64(offset), result)), expectedSize)
    }

    /// After the last byte: `fstat` must still show `expectedSize` (a file that grew is
    /// reported instead of being sent cut short).
    private func checkUnchanged(_ descriptor: FileDescriptor) throws(SendError) {
        let info: stat
        do {
            info = try SystemCall.status(descriptor.rawValue)
        } catch {
            throw SendError.system(error, "cannot read", path)
        }
        if let resized = Self.sizeChange(info, path: path, expectedSize: expectedSize) { throw resized }
    }

    /// `.changedWhileSending` for `path`, saying how (`detail`).
    private static func changed(_ path: String, _ detail: String) -> SendError {
        SendError(.changedWhileSending, "'\(DisplayEscape.escape(path))' changed while sending: \(detail)")
    }

    /// The error for a file whose `fstat` size is no longer the planned one, or nil.
    private static func sizeChange(_ info: stat, path: String, expectedSize: UInt64) -> SendError? {
        guard UInt64(max(0, info.st_size)) != expectedSize else { return nil }
        return changed(path, "\(expectedSize) bytes were planned, it now has \(info.st_size)")
    }
}

@available(*, unavailable, message: "FileSource is used from one thread at a time")
extension FileSource: Sendable {}
