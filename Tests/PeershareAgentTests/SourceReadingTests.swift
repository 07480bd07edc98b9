import Foundation
import Glibc
@testable import PeershareAgent
import PeershareCore
import Testing
@testable import PeershareTransfer

/// How the sender reads files: the last read that also detects growth (instead of an
/// `fstat` at the end), and files opened relative to their already open directory.
@Suite struct SourceReadingTests {
    /// Reads `source` to its end with a buffer of `bufferSize`, returning the bytes, or the
    /// error; `beforeRead(n)` runs before the n-th read (0-based).
    private func drain(_ source: FileSource, bufferSize: Int, beforeRead: (Int) -> Void = { _ in }) -> Result<[UInt8], SendError> {
        var buffer = [UInt8](repeating: 0, count: bufferSize)
        var bytes: [UInt8] = []
        for read in 0..<1000 {
            beforeRead(read)
            let outcome = buffer.withUnsafeMutableBytes { raw in
                Result { () throws(SendError) in try source.next(into: raw) }
            }
            switch outcome {
            case .success(.data(let count)): bytes += buffer[0..<count]
            case .success(.hole(let length)): bytes += [UInt8](repeating: 0, count: Int(length))
            case .success(.end): return .success(bytes)
            case .failure(let error): return .failure(error)
            }
        }
        Issue.record("no end after 1000 reads")
        return .success(bytes)
    }

    private func append(_ path: String, _ bytes: [UInt8]) {
        let fd = open(path, O_WRONLY | O_APPEND)
        #expect(fd >= 0)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    @Test(arguments: [1, 100, 5000, 70_000])
    func readsWholeFilesExactly(size: Int) throws {
        try withScratchDirectory { root in
            let content = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            makeFile(root + "/f", content)
            // A buffer larger than the file (one read that reaches the end) and a smaller
            // one (the end is reached by the last of several reads).
            for bufferSize in [size + 10, max(1, size / 3)] {
                let source = try FileSource(path: root + "/f", expectedSize: UInt64(size))
                defer { source.close() }
                let result = drain(source, bufferSize: bufferSize)
                #expect((try? result.get()) == content, "buffer \(bufferSize)")
            }
        }
    }

    @Test(arguments: [100, 70_000])
    func fileThatGrewBeforeItsLastReadIsReported(size: Int) throws {
        try withScratchDirectory { root in
            let path = root + "/f"
            makeFile(path, [UInt8](repeating: 3, count: size))
            for bufferSize in [size + 10, size / 2 + 1] {
                makeFile(path, [UInt8](repeating: 3, count: size))
                let source = try FileSource(path: path, expectedSize: UInt64(size))
                defer { source.close() }
                let lastRead = bufferSize > size ? 0 : 1
                let result = drain(source, bufferSize: bufferSize) { read in
                    if read == lastRead { append(path, [9]) }
                }
                guard case .failure(let error) = result else {
                    Issue.record("a file that grew was sent without an error (buffer \(bufferSize))")
                    continue
                }
                #expect(error.code == .changedWhileSending)
                #expect(error.message.contains("grew"))
            }
        }
    }

    @Test func fileThatGrowsEarlyIsReportedWithinOneCheckInterval() throws {
        try withScratchDirectory { root in
            let path = root + "/f"
            let size = Int(FileSource.checkInterval) * 3
            makeFile(path, [UInt8](repeating: 3, count: size))
            let source = try FileSource(path: path, expectedSize: UInt64(size))
            defer { source.close() }
            let bufferSize = 1 << 20
            var reads = 0
            let result = drain(source, bufferSize: bufferSize) { read in
                reads = read
                if read == 1 { append(path, [9]) }
            }
            guard case .failure(let error) = result else {
                Issue.record("a file that grew was sent without an error")
                return
            }
            #expect(error.code == .changedWhileSending)
            // Noticed at the first check after the growth, not after reading all of it.
            #expect(reads * bufferSize <= Int(FileSource.checkInterval) + bufferSize, "noticed only after \(reads) reads")
        }
    }

    @Test func fileThatGrewAfterItsLastReadIsSentAsPlanned() throws {
        try withScratchDirectory { root in
            let path = root + "/f"
            makeFile(path, [UInt8](repeating: 3, count: 100))
            let source = try FileSource(path: path, expectedSize: 100)
            defer { source.close() }
            // Read 0 brings all 100 bytes and finds nothing after them; the growth comes
            // before the call that says `.end`. It happened after the data was taken, like
            // a change after the send: the planned 100 bytes are what was sent.
            let result = drain(source, bufferSize: 4096) { read in
                if read == 1 { append(path, [9]) }
            }
            #expect((try? result.get()) == [UInt8](repeating: 3, count: 100))
        }
    }

    @Test func directoriesOpenFilesBelowEachDirectory() throws {
        try withScratchDirectory { root in
            let fm = FileManager.default
            try fm.createDirectory(atPath: root + "/a/b", withIntermediateDirectories: true)
            let files = ["/a/1", "/a/b/2", "/a/3", "/top", "/a/b/4"]
            for (index, name) in files.enumerated() { makeFile(root + name, Array("file \(index)".utf8)) }
            try fm.createSymbolicLink(atPath: root + "/a/link", withDestinationPath: "1")

            let directories = SourceDirectories()
            // Alternating directories (tree order goes back to a parent after a subdirectory).
            for (index, name) in files.enumerated() {
                let source = try FileSource(path: root + name, expectedSize: UInt64("file \(index)".utf8.count), directories: directories)
                let result = drain(source, bufferSize: 64)
                source.close()
                #expect((try? result.get()) == Array("file \(index)".utf8), "\(name)")
            }
            // The last component is never followed, as with open(O_NOFOLLOW).
            let viaLink = #expect(throws: SendError.self) {
                try FileSource(path: root + "/a/link", expectedSize: 6, directories: directories)
            }
            #expect(viaLink?.code == .io)
            // A missing directory fails like a missing file.
            #expect(throws: SendError.self) {
                try FileSource(path: root + "/missing/f", expectedSize: 1, directories: directories)
            }
        }
    }
}
