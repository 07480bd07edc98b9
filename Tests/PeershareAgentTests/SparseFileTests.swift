import Foundation
import Glibc
import PeershareAgent
import PeershareCore
import Testing
import PeershareTransfer

/// Files over 4 GiB with holes: 64-bit offsets on both sides, and holes stay holes.
@Suite struct SparseFileTests {
    static let gib: UInt64 = 1 << 30

    @Test func fiveGiBSparseFileRoundTrips() throws {
        try withScratchDirectory { root in
            let inbox = try InboxDirectory(path: root + "/inbox")
            let writer = OfferWriter(inbox: inbox, transferID: "sparse")
            let size = 5 * Self.gib
            let head = [UInt8](repeating: 0x11, count: 4096)
            let middle = [UInt8](repeating: 0x22, count: 5000)
            let tail = [UInt8](repeating: 0x33, count: 4096)
            let middleOffset = 4 * Self.gib + 123
            let tailEnd = size - (1 << 20)  // a 1 MiB trailing hole

            try writer.begin(try makeEntry(.file, "huge.img", size: size, mode: 0o644, mtime: (1_700_000_000, 77)))
            try writer.write(head)
            try writer.skipHole(middleOffset - 4096)
            try writer.write(middle)
            try writer.skipHole(tailEnd - 4096 - (middleOffset + 5000))
            try writer.write(tail)
            try writer.skipHole(size - tailEnd)
            try writer.finishFile()
            try writer.finishAll()
            #expect(writer.bytesWritten == size)

            let path = root + "/inbox/huge.img"
            let info = try #require(lstatOf(path))
            #expect(UInt64(info.st_size) == size)
            #expect(info.st_blocks * 512 < 1 << 20, "a sparse file must not allocate its holes")
            #expect(info.st_mtim.tv_sec == 1_700_000_000 && info.st_mtim.tv_nsec == 77)

            let fd = open(path, O_RDONLY)
            try #require(fd >= 0)
            defer { close(fd) }
            func read(_ count: Int, at offset: UInt64) -> [UInt8] {
                var buffer = [UInt8](repeating: 0xFF, count: count)
                let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
                return Array(buffer.prefix(max(0, got)))
            }
            #expect(read(4096, at: 0) == head)
            #expect(read(5000, at: middleOffset) == middle)
            #expect(read(4096, at: tailEnd - 4096) == tail)
            #expect(read(16, at: 3 * Self.gib) == [UInt8](repeating: 0, count: 16))
            #expect(read(16, at: size - 16) == [UInt8](repeating: 0, count: 16))

            func expectedByte(at offset: UInt64) -> UInt8 {
                if offset < 4096 { return 0x11 }
                if offset >= middleOffset, offset < middleOffset + 5000 { return 0x22 }
                if offset >= tailEnd - 4096, offset < tailEnd { return 0x33 }
                return 0
            }
            // Sending it back: FileSource reports the holes instead of reading 5 GiB of zeros.
            let source = try FileSource(path: path, expectedSize: size)
            defer { source.close() }
            var buffer = [UInt8](repeating: 0, count: 256 * 1024)
            var total: UInt64 = 0
            var dataBytes: UInt64 = 0
            var holes: [UInt64] = []
            var pieces = 0
            loop: while true {
                let piece = try buffer.withUnsafeMutableBytes { raw throws(SendError) in try source.next(into: raw) }
                pieces += 1
                switch piece {
                case .data(let count):
                    // Every data piece holds what was written at that position (zeros elsewhere).
                    #expect(count > 0)
                    let mismatches = (0..<count).filter { buffer[$0] != expectedByte(at: total + UInt64($0)) }
                    #expect(mismatches.isEmpty, "data piece at \(total)")
                    total += UInt64(count)
                    dataBytes += UInt64(count)
                case .hole(let length):
                    #expect(length >= FileSource.minimumHole)
                    holes.append(length)
                    total += length
                case .end:
                    break loop
                }
                try #require(pieces < 10_000)
            }
            #expect(total == size)
            #expect(holes.count >= 3)
            #expect(holes.allSatisfy { $0 >= FileSource.minimumHole })
            #expect(dataBytes < 1 << 20)
        }
    }
}
