import Foundation
import Glibc
import PeershareCore
import SodiumKit
import Testing

/// Resume claims (RESUME, docs/PROTOCOL.md §6) from a paired but hostile sender: a claim
/// the receiver did not announce, one beyond the size, in the wrong place, or a HOLDING
/// message sent the wrong way, is refused and leaves nothing behind.
extension StreamTests {
    static func resume(_ offset: UInt64) -> [UInt8] { Raw.resume(offset) }

    static let resumeCases: [StreamCase] = [
        StreamCase(item: 16, label: "RESUME for a file the receiver never announced", offer: StreamCase.oneFile(size: 10),
                   steps: [.message(resume(5)), .message(Raw.file("f.bin", size: 10)), .message(Raw.data(Raw.pattern(5)))],
                   expect: .protocolError("a resume claim for 'f.bin' at 5 bytes that this receiver did not announce")),
        StreamCase(item: 16, label: "RESUME claiming a whole file the receiver never announced", offer: StreamCase.oneFile(size: 10),
                   steps: [.message(resume(10)), .message(Raw.file("f.bin", size: 10)), .final(Raw.end(files: 1, bytes: 10))],
                   expect: .protocolError("a resume claim for 'f.bin' at 10 bytes that this receiver did not announce")),
        StreamCase(item: 16, label: "RESUME beyond the file's size", offer: StreamCase.oneFile(size: 10),
                   steps: [.message(resume(20)), .message(Raw.file("f.bin", size: 10))],
                   expect: .protocolError("bad entry 'f.bin': a resume offset of 20 does not fit it")),
        StreamCase(item: 16, label: "RESUME of 2^62+1 bytes", offer: StreamCase.oneFile(size: 10),
                   steps: [.message(resume((1 << 62) + 1)), .message(Raw.file("f.bin", size: 10))],
                   expect: .protocolError("field 'offset' out of range: 4611686018427387905")),
        StreamCase(item: 16, label: "RESUME of 0 bytes", offer: StreamCase.oneFile(size: 10),
                   steps: [.message(resume(0)), .message(Raw.file("f.bin", size: 10))],
                   expect: .protocolError("field 'offset' out of range: 0")),
        StreamCase(item: 9, label: "RESUME before a directory", offer: Raw.offer(files: 0, directories: 1, total: 0, names: ["d"]),
                   steps: [.message(resume(5)), .message(Raw.directory("d"))],
                   expect: .protocolError("bad entry 'd': a resume offset of 5 does not fit it")),
        StreamCase(item: 9, label: "RESUME twice", offer: StreamCase.oneFile(size: 10),
                   steps: [.message(resume(5)), .message(resume(5)), .message(Raw.file("f.bin", size: 10))],
                   expect: .protocolError("unexpected resume message (expected entry)")),
        StreamCase(item: 21, label: "RESUME then END", offer: StreamCase.oneFile(size: 10),
                   steps: [.message(resume(5)), .final(Raw.end(files: 0, bytes: 0))],
                   expect: .protocolError("unexpected end message (expected entry)")),
        StreamCase(item: 17, label: "RESUME inside a file's data", offer: StreamCase.oneFile(size: 10),
                   steps: [.message(Raw.file("f.bin", size: 10)), .message(Raw.data(Raw.pattern(3))), .message(resume(3))],
                   expect: .protocolError("unexpected resume message (expected data or hole)")),
        StreamCase(item: 23, label: "a HOLDING message from the sender", offer: StreamCase.oneFile(size: 10),
                   steps: [.message([Raw.holdingType, 1, 0])],
                   expect: .protocolError("an unexpected message during the transfer.")),
    ]

    @Test("Resume claims the receiver did not announce, or out of place, are refused and leave nothing behind", arguments: resumeCases)
    func resumeClaim(_ streamCase: StreamCase) async throws {
        try await self.streamCase(streamCase)
    }

    @Test("A real partial file: the receiver announces exactly what it holds, a wrong offset is refused, the right one completes the file")
    func realPartialFile() async throws {
        let lab = try #require(Lab.current)
        // Above the 64 KiB limit of nameless files, so it goes to the partial area.
        let content = Raw.pattern(70_000)

        // Cut mid-file: the agent keeps the first 6 bytes for this sender. (One probe for
        // the three steps: `finish` restores the inbox, partial area included.)
        let probe = lab.begin("resume: cut after 6 of 70,000 bytes, a wrong claim, the right one")
        var session = try await lab.hostile.openAccepted(port: lab.port, offer: StreamCase.oneFile(size: 70_000))
        try await session.perform([.message(Raw.file("f.bin", size: 70_000)), .message(Raw.data(Array(content[0..<6])))])
        let written = await lab.waitUntil {
            lab.partFiles().contains { NodeInfo.read(Array((lab.inbox + "/").utf8) + $0)?.size == 6 }
        }
        #expect(written, "the agent did not write the 6 bytes before the cut")
        session.close()
        #expect(await lab.waitForAgentOutput("failed", since: probe))
        #expect(lab.partialAreaEntries().count == 1, "kept: \(lab.partialAreaEntries().keys.map(shown))")

        // It says so after ACCEPT: one partial record with this sender's key, 6 bytes and
        // the hash of those bytes. A claim of 5 bytes does not match it.
        let key = ResumeKeys.fileKey(sender: lab.hostile.identity.publicKey, path: "f.bin", size: 70_000,
                                     mtimeSeconds: Raw.mtime, mtimeNanoseconds: 0)
        let expected = ResumeRecord.partial(key: key, heldBytes: 6, prefixHash: try Hash.generic(Array(content[0..<6]), outputLength: 32))
        session = try await lab.hostile.openAccepted(port: lab.port, offer: StreamCase.oneFile(size: 70_000))
        let announced = await session.receive()
        guard case .message(.holding(true, let records), false) = announced else {
            Issue.record("expected HOLDING after ACCEPT, got \(announced)")
            return
        }
        #expect(records == [expected])
        try await session.perform([.message(Self.resume(5)), .message(Raw.file("f.bin", size: 70_000)), .message(Raw.data(Array(content[5...])))])
        var outcome = await session.finalAnswer()
        session.close()
        lab.expectRejected(outcome, probe.label, .protocolError("a resume claim for 'f.bin' at 5 bytes that this receiver did not announce"))
        #expect(lab.partialAreaEntries().count == 1, "a refused claim must leave the partial file: \(lab.partialAreaEntries().keys.map(shown))")

        // The announced 6 bytes: only the last 4 are sent, and the file is whole.
        session = try await lab.hostile.openAccepted(port: lab.port, offer: StreamCase.oneFile(size: 70_000))
        _ = await session.receive()
        try await session.perform([.message(Self.resume(6)), .message(Raw.file("f.bin", size: 70_000)),
                                   .message(Raw.data(Array(content[6...]))), .final(Raw.end(files: 1, bytes: 70_000))])
        outcome = await session.finalAnswer()
        session.close()
        guard case .done(1, 70_000) = outcome else {
            Issue.record("expected DONE(1, 70000), got \(outcome)")
            return
        }
        #expect(readFileBytes(lab.inbox + "/f.bin") == content)
        await lab.finish(probe, outcome: outcome, expect: .exactly([Array("f.bin".utf8)]))
    }
}
