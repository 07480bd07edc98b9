import Foundation
import Glibc
import Testing
internal import CPeershareSys

/// What an offer reads of the partial area: only unfinished files that can belong to it.
/// The receiving agent prints "Checking … already received …" (its `checking` event)
/// before it hashes partial files; an unrelated send must not make it read any.
extension EndToEnd {
    /// A receiver that holds part of a 48 MiB `big.bin` from `sender`: a first send, paired
    /// with the code, is killed once 16 MiB arrived. The caller stops the receiver.
    static func cutSend(in scratch: Scratch, sender name: String, seed: UInt64) async throws
        -> (big: String, receiver: AgentProcess, sender: SenderHome, held: HeldState) {
        let big = try scratch.directory("a") + "/big.bin"
        try Fixture.randomFile(big, size: 48 << 20, seed: seed)
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        let sender = try SenderHome(name: name, in: scratch.root)
        let first = try sender.startSend([big], to: receiver)
        let code = try await pairingCode(of: first)
        _ = try await waitForOffer(on: receiver, needsCode: true)
        #expect(try await receiver.accept(code: code).exited(0))
        try await killSender(first, after: 16 << 20)
        try await waitUntilIdle(receiver)
        return (big, receiver, sender, HeldState.read(inbox: receiver.inbox, folder: nil))
    }

    @Test("Unrelated sends do not check the sender's unfinished files; the resend of the cut file does, and says so on both sides")
    func unrelatedSendsReadNoPartialFile() async throws {
        let scratch = try Self.scratch("rscope")
        defer { scratch.remove() }
        // Ann's send of big.bin is cut: the receiver keeps a partial file of it.
        let (big, receiver, ann, held) = try await Self.cutSend(in: scratch, sender: "ann", seed: 91)
        defer { receiver.stop() }
        try #require(held.partialFiles == 1, "no partial file was kept: \(receiver.partialAreaNames())")
        #expect(Self.checkingLines(receiver).isEmpty, "a first send has nothing to check\n\(receiver.transcript)")

        // A 2-byte file, then a folder larger than the partial file: neither can continue
        // it, so neither may read it.
        let note = try scratch.directory("n") + "/note.txt"
        try Fixture.randomFile(note, size: 2, seed: 1)
        let photos = try scratch.directory("p") + "/photos"
        try Fixture.directory(photos)
        try Fixture.randomFile(photos + "/raw.bin", size: 56 << 20, seed: 92)
        for paths in [[note], [photos]] {
            let unrelated = try await ann.startSend(paths, to: receiver).wait(timeout: .seconds(90))
            #expect(unrelated.exited(0), "\(unrelated)")
            #expect(unrelated.events("checking").isEmpty, "\(unrelated.stdout)")
            #expect(unrelated.events("done").last?.resumedBytes == 0, "\(unrelated.stdout)")
            #expect(Self.checkingLines(receiver).isEmpty,
                    "sending \(paths) read the unrelated partial file\n\(receiver.transcript)")
        }
        #expect(HeldState.read(inbox: receiver.inbox, folder: nil).partialBytes == held.partialBytes)

        // The resend of big.bin checks exactly the held prefix (the receiver says so before
        // it reads, the sender before it hashes its own copy) and continues from there. The
        // hash the receiver remembered after the cut is removed first, so it has to read.
        let part = try #require(Self.partialFiles(receiver).first)
        #expect(try await Self.waitUntilRemembered(part), "no prefix hash was remembered after the cut")
        #expect(Self.forgetRemembered(part))
        let resend = try await ann.startSend([big], to: receiver).wait(timeout: .seconds(90))
        #expect(resend.exited(0), "\(resend)")
        #expect(resend.events("checking").map(\.bytes) == [held.partialBytes], "\(resend.stdout)")
        #expect(resend.events("done").last?.resumedBytes == held.partialBytes, "\(resend.stdout)")
        let lines = Self.checkingLines(receiver)
        #expect(lines.count == 1 && lines.allSatisfy { $0.contains("(1 unfinished file(s))") }, "\(receiver.transcript)")
        #expect(try sameContents(big, receiver.inbox + "/big.bin"))
        #expect(receiver.partialAreaNames().isEmpty, "left in the partial area: \(receiver.partialAreaNames())")
    }

    @Test("After a cut the receiver remembers the hash of what it kept: the resend reads the held bytes only on the sender")
    func resendUsesRememberedPrefixHash() async throws {
        let scratch = try Self.scratch("rmemo")
        defer { scratch.remove() }
        let (big, receiver, bo, held) = try await Self.cutSend(in: scratch, sender: "bo", seed: 93)
        defer { receiver.stop() }
        let part = try #require(Self.partialFiles(receiver).first, "no partial file was kept")
        #expect(try await Self.waitUntilRemembered(part), "no prefix hash was remembered after the cut")

        let resend = try await bo.startSend([big], to: receiver).wait(timeout: .seconds(90))
        #expect(resend.exited(0), "\(resend)")
        #expect(resend.events("checking").map(\.bytes) == [held.partialBytes], "\(resend.stdout)")
        #expect(resend.events("done").last?.resumedBytes == held.partialBytes, "\(resend.stdout)")
        #expect(Self.checkingLines(receiver).isEmpty, "the receiver read the held bytes again\n\(receiver.transcript)")
        #expect(try sameContents(big, receiver.inbox + "/big.bin"))
    }

    static func partialFiles(_ agent: AgentProcess) -> [String] {
        agent.partialAreaNames().filter { $0.hasSuffix(".part") }.map { agent.inbox + "/" + AgentProcess.partialArea + "/" + $0 }
    }

    /// Removes the prefix hash the receiver stored on the partial file `path`.
    static func forgetRemembered(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return psys_fremovexattr(fd, "user.peershare.prefix-hash") == 0
    }

    /// Waits until the receiver stored a prefix hash on the partial file `path`.
    static func waitUntilRemembered(_ path: String) async throws -> Bool {
        try await poll(timeout: .seconds(60), interval: .milliseconds(20)) { () -> Bool? in
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return nil }
            defer { close(fd) }
            var record = [UInt8](repeating: 0, count: 64)
            let count = record.withUnsafeMutableBytes { psys_fgetxattr(fd, "user.peershare.prefix-hash", $0.baseAddress, UInt($0.count)) }
            return count == 52 ? true : nil
        } == true
    }

    /// The receiving agent's "Checking … already received from …" lines so far.
    static func checkingLines(_ agent: AgentProcess) -> [Substring] {
        agent.transcript.split(separator: "\n").filter { $0.hasPrefix("Checking ") && $0.contains(" already received from ") }
    }
}
