import SodiumKit
import Testing
@testable import PeershareCore

/// Resume on the wire: HOLDING and RESUME encode and decode exactly, malformed ones are
/// refused, the accounting allows RESUME only right before a file that fits it, and the
/// keys separate senders and content.
@Suite("Resume messages and keys")
struct ResumeWireTests {
    typealias S = WireSamples

    static let key = [UInt8](repeating: 0xAB, count: 16)
    static let hash = [UInt8](repeating: 0x5C, count: 32)

    @Test("HOLDING and RESUME round-trip byte for byte")
    func roundTrip() throws {
        let holding = StreamMessage.holding(last: true, records: [.complete(key: Self.key), .partial(key: Self.key, heldBytes: 300, prefixHash: Self.hash)])
        let bytes = holding.encode()
        #expect(bytes == [0x10, 1, 2, 1] + Self.key + [2] + Self.key + [0xAC, 0x02] + Self.hash)
        #expect(try StreamMessage.decode(bytes) == holding)
        #expect(StreamMessage.resume(offset: 5).encode() == [0x11, 5])
        #expect(try StreamMessage.decode([0x11, 5]) == .resume(offset: 5))
        #expect(try StreamMessage.decode([0x10, 0, 0]) == .holding(last: false, records: []))
    }

    @Test("malformed HOLDING and RESUME messages are refused", arguments: [
        [0x10, 2, 0],                                   // last flag 2
        [0x10, 1, 0x81, 0x20],                          // 4097 records
        [0x10, 1, 1, 3] + key,                          // unknown state
        [0x10, 1, 1, 1] + key.dropLast(),               // short key
        [0x10, 1, 1, 2] + key + [0] + hash,             // partial of 0 bytes
        [0x10, 1, 1, 2] + key + [5] + hash.dropLast(),  // short hash
        [0x10, 1, 0, 0],                                // trailing byte
        [0x11, 0],                                      // offset 0
        [0x11, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40], // 2^62 + 1
        [0x11],                                         // no offset
    ] as [[UInt8]])
    func malformed(_ bytes: [UInt8]) {
        #expect(throws: WireError.self) { try StreamMessage.decode(bytes) }
    }

    @Test("RESUME counts the held bytes, only directly before a file that is at least that large")
    func accounting() throws {
        var a = try WireAccountingTests.started(S.summary(files: 2, directories: 1, symlinks: 0, bytes: 10))
        #expect(try a.accept(.resume(offset: 4)) == .resume(offset: 4))
        #expect(try a.accept(.entry(try S.file("top/a", size: 6))) == .entry(try S.file("top/a", size: 6), complete: false))
        #expect(try a.accept(.data([1, 2])) == .data(count: 2, fileComplete: true))
        // A whole file held: complete at once.
        #expect(try a.accept(.resume(offset: 4)) == .resume(offset: 4))
        #expect(try a.accept(.entry(try S.file("top/b", size: 4))) == .entry(try S.file("top/b", size: 4), complete: true))
        try a.end(files: 2, bytes: 10)
        #expect(a.resumedBytes == 8)
        #expect(a.receivedBytes == 10)

        var twice = try WireAccountingTests.started()
        try twice.resume(offset: 1)
        #expect(throws: WireError.self) { try twice.resume(offset: 1) }
        var beyond = try WireAccountingTests.started()
        try beyond.resume(offset: 7)
        #expect(throws: WireError.self) { try beyond.beginEntry(try S.file("top/a", size: 6)) }
        var directory = try WireAccountingTests.started()
        try directory.resume(offset: 1)
        #expect(throws: WireError.self) { try directory.beginEntry(try S.directory("top/d")) }
        var end = try WireAccountingTests.started()
        try end.resume(offset: 1)
        #expect(throws: WireError.self) { try end.end(files: 0, bytes: 0) }
        var inFile = try WireAccountingTests.started()
        _ = try inFile.beginEntry(try S.file("top/a", size: 6))
        #expect(throws: WireError.self) { try inFile.resume(offset: 1) }
        var zero = try WireAccountingTests.started()
        #expect(throws: WireError.self) { try zero.resume(offset: 0) }
    }

    @Test("file keys differ for another sender, path, size or time; sender tags differ per sender")
    func keys() {
        let alice = [UInt8](repeating: 1, count: 32)
        let bob = [UInt8](repeating: 2, count: 32)
        let base = ResumeKeys.fileKey(sender: alice, path: "a/b", size: 10, mtimeSeconds: 5, mtimeNanoseconds: 6)
        #expect(base.count == 16)
        #expect(base == ResumeKeys.fileKey(sender: alice, path: "a/b", size: 10, mtimeSeconds: 5, mtimeNanoseconds: 6))
        let others = [
            ResumeKeys.fileKey(sender: bob, path: "a/b", size: 10, mtimeSeconds: 5, mtimeNanoseconds: 6),
            ResumeKeys.fileKey(sender: alice, path: "a/c", size: 10, mtimeSeconds: 5, mtimeNanoseconds: 6),
            ResumeKeys.fileKey(sender: alice, path: "a/b", size: 11, mtimeSeconds: 5, mtimeNanoseconds: 6),
            ResumeKeys.fileKey(sender: alice, path: "a/b", size: 10, mtimeSeconds: 4, mtimeNanoseconds: 6),
            ResumeKeys.fileKey(sender: alice, path: "a/b", size: 10, mtimeSeconds: 5, mtimeNanoseconds: 7),
        ]
        for other in others { #expect(other != base) }
        #expect(ResumeKeys.senderTag(alice) != ResumeKeys.senderTag(bob))
        #expect(ResumeKeys.senderTag(alice).count == 32)
        #expect(ResumeKeys.hex([0x00, 0xff, 0x1a]) == "00ff1a")
    }

    @Test("the streaming prefix hash equals crypto_generichash of the whole input")
    func streamingHash() throws {
        let data = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let stream = try GenericHashStream(outputLength: 32)
        data.withUnsafeBytes { raw in
            stream.update(UnsafeRawBufferPointer(rebasing: raw[0..<777]))
            stream.update(UnsafeRawBufferPointer(rebasing: raw[777...]))
        }
        #expect(stream.finish() == (try Hash.generic(data, outputLength: 32)))
    }
}
