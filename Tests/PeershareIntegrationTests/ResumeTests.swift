import Foundation
import Glibc
import Testing

/// Resume after `kill -9` of either side: the resend carries only the missing bytes (the
/// sender's byte counters say so), complete files are not sent again, and the result is
/// the source tree exactly; only the same sender with the same content can continue.
extension EndToEnd {
    @Test("kill -9 of the sender mid-folder: the resend sends only the missing bytes, skips complete files, and the tree is identical")
    func resumeAfterSenderKilled() async throws {
        let scratch = try Self.scratch("rsend")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/album"
        try ResumeTree.build(at: source)
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "nora", in: scratch.root)

        let first = try sender.startSend([source], to: receiver)
        let code = try await pairingCode(of: first)
        _ = try await waitForOffer(on: receiver, needsCode: true)
        #expect(try await receiver.accept(code: code).exited(0))
        try await Self.killSender(first, after: 56 << 20)
        try await Self.waitUntilIdle(receiver)

        let held = HeldState.read(inbox: receiver.inbox, folder: "album")
        #expect(held.completeFiles >= 2 && held.bytes < ResumeTree.totalBytes, "not a cut mid-folder: \(held)")
        #expect(receiver.inboxNames() == ["album"], "\(receiver.inboxNames())")

        // Paired now: the resend needs no code and continues into the same folder.
        let second = try await sender.startSend([source], to: receiver).wait(timeout: .seconds(120))
        try Self.expectResumed(second, held: held, total: ResumeTree.totalBytes)
        #expect(receiver.inboxNames() == ["album"], "the resend must complete the folder, not make a copy: \(receiver.inboxNames())")
        try expectSameTree(source, receiver.inbox + "/album")
        #expect(receiver.partialAreaNames().isEmpty, "left in the partial area: \(receiver.partialAreaNames())")
    }

    @Test("kill -9 of the receiving agent mid-folder: after a restart the resend sends only the missing bytes, and the tree is identical")
    func resumeAfterReceiverKilled() async throws {
        let scratch = try Self.scratch("rrecv")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/album"
        try ResumeTree.build(at: source)
        var receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "omar", in: scratch.root)

        let first = try sender.startSend([source], to: receiver)
        let code = try await pairingCode(of: first)
        _ = try await waitForOffer(on: receiver, needsCode: true)
        #expect(try await receiver.accept(code: code).exited(0))
        // Killed once the receiver itself holds two complete files and a partial one (the
        // sender's own progress runs ahead of the disk by the socket buffers).
        let throttle = Throttle(first)
        let reached = try await poll(timeout: .seconds(90), interval: .milliseconds(10)) {
            let state = HeldState.read(inbox: receiver.inbox, folder: "album")
            return (state.completeFiles >= 2 && state.partialFiles == 1 && state.partialBytes >= 1 << 20) || !first.isRunning ? true : nil
        }
        let sendRunning = first.isRunning
        receiver.killHard()
        await throttle.stop()
        try #require(reached == true && sendRunning, "the send ended before the receiver could be killed: \(first.currentStdout)")
        let failed = try await first.wait(timeout: .seconds(45))
        #expect(!failed.exited(0) && !failed.timedOut && failed.events("done").isEmpty, "\(failed)")

        // What the killed agent left: complete files in the folder, the file it was writing
        // in the partial area (found again after the restart).
        let held = HeldState.read(inbox: receiver.inbox, folder: "album")
        #expect(held.partialFiles == 1 && held.completeFiles >= 2 && held.bytes < ResumeTree.totalBytes, "not a cut mid-file: \(held)")
        receiver = try await AgentProcess.start(name: "recv", in: scratch.root)

        // The restarted agent listens on a new port; pins belong to keys, not addresses, so
        // the sender meets the pinned key there and needs no code, and the receiver resumes.
        let second = try await sender.startSend([source], to: receiver).wait(timeout: .seconds(120))
        #expect(second.events("code").isEmpty && second.events("connected").last?.paired == true, "\(second)")
        try Self.expectResumed(second, held: held, total: ResumeTree.totalBytes)
        #expect(receiver.inboxNames() == ["album"], "\(receiver.inboxNames())")
        try expectSameTree(source, receiver.inbox + "/album")
        #expect(receiver.partialAreaNames().isEmpty, "left in the partial area: \(receiver.partialAreaNames())")
    }

    @Test("Only the same sender with the same content resumes: another identity, changed bytes and a changed time all send in full")
    func resumeIsKeyedBySenderAndContent() async throws {
        let scratch = try Self.scratch("rkey")
        defer { scratch.remove() }
        let size = 96 << 20
        let total = UInt64(size)
        let file = try scratch.directory("a") + "/big.bin"
        try Fixture.randomFile(file, size: size, seed: 77)
        try Fixture.setTime(file, seconds: 1_650_000_000, nanoseconds: 5)
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let ann = try SenderHome(name: "ann", in: scratch.root)

        // Ann's first send is cut: a partial of big.bin is kept for her.
        let first = try ann.startSend([file], to: receiver)
        let code = try await pairingCode(of: first)
        _ = try await waitForOffer(on: receiver, needsCode: true)
        #expect(try await receiver.accept(code: code).exited(0))
        try await Self.killSender(first, after: 16 << 20)
        try await Self.waitUntilIdle(receiver)
        let annPartial = receiver.partialAreaNames().filter { $0.hasSuffix(".part") }
        #expect(annPartial.count == 1, "\(receiver.partialAreaNames())")

        // Ben, another identity, sends a byte-identical file with the same name and time.
        let copy = try scratch.directory("b") + "/big.bin"
        try Fixture.randomFile(copy, size: size, seed: 77)
        try Fixture.setTime(copy, seconds: 1_650_000_000, nanoseconds: 5)
        let ben = try SenderHome(name: "ben", in: scratch.root)
        let fromBen = try await finishWithCode(try ben.startSend([copy], to: receiver), on: receiver)
        #expect(fromBen.exited(0), "\(fromBen)")
        #expect(fromBen.events("done").last?.sentBytes == total, "another sender must not resume: \(fromBen.stdout)")
        #expect(fromBen.events("done").last?.resumedBytes == 0)
        #expect(try sameContents(copy, receiver.inbox + "/big.bin"))
        #expect(receiver.partialAreaNames().filter { $0.hasSuffix(".part") } == annPartial, "Ben's transfer touched Ann's partial file")

        // Ann changed bytes at the start but kept size and time: the prefix hash differs.
        let fd = open(file, O_WRONLY)
        #expect(fd >= 0)
        let changed = [UInt8](repeating: 0xA5, count: 4096)
        #expect(pwrite(fd, changed, changed.count, 0) == changed.count)
        close(fd)
        try Fixture.setTime(file, seconds: 1_650_000_000, nanoseconds: 5)
        let changedBytes = try await ann.startSend([file], to: receiver).wait(timeout: .seconds(90))
        #expect(changedBytes.exited(0), "\(changedBytes)")
        #expect(changedBytes.events("done").last?.sentBytes == total, "changed content must not resume: \(changedBytes.stdout)")
        #expect(try sameContents(file, receiver.inbox + "/big (2).bin"))

        // Cut again, then only the time changes: the key differs.
        let third = try ann.startSend([file], to: receiver)
        try await Self.killSender(third, after: 16 << 20)
        try await Self.waitUntilIdle(receiver)
        #expect(receiver.partialAreaNames().contains { $0.hasSuffix(".part") })
        try Fixture.setTime(file, seconds: 1_650_000_001, nanoseconds: 5)
        let changedTime = try await ann.startSend([file], to: receiver).wait(timeout: .seconds(90))
        #expect(changedTime.exited(0), "\(changedTime)")
        #expect(changedTime.events("done").last?.sentBytes == total, "a changed time must not resume: \(changedTime.stdout)")
        #expect(changedTime.events("done").last?.resumedBytes == 0)
        #expect(try sameContents(file, receiver.inbox + "/big (3).bin"))
    }
}

extension EndToEnd {
    @Test("A resend of a folder with 5,000 complete files: they come back in two HOLDING messages and none is sent again")
    func resumeManyCompleteFiles() async throws {
        let scratch = try Self.scratch("rmany")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/many"
        let tree = try TreeBuilder(source)
        try tree.directory("a")
        let count = 5_000
        for index in 0..<count {
            try tree.file(String(format: "a/%05d.txt", index), Fixture.bytes(count: 1_000 + index % 100, seed: UInt64(index)))
        }
        try tree.randomFile("z.bin", size: 64 << 20, seed: 4242)
        try tree.finish()
        let small = UInt64((0..<count).reduce(0) { $0 + 1_000 + $1 % 100 })
        let total = small + UInt64(64 << 20)
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "pia", in: scratch.root)

        let first = try sender.startSend([source], to: receiver)
        let code = try await pairingCode(of: first)
        _ = try await waitForOffer(on: receiver, needsCode: true)
        #expect(try await receiver.accept(code: code).exited(0))
        try await Self.killSender(first, after: small + (8 << 20))
        try await Self.waitUntilIdle(receiver)
        let held = HeldState.read(inbox: receiver.inbox, folder: "many")
        #expect(held.completeFiles == UInt64(count), "\(held)")

        let second = try await sender.startSend([source], to: receiver).wait(timeout: .seconds(120))
        try Self.expectResumed(second, held: held, total: total)
        #expect(receiver.inboxNames() == ["many"], "\(receiver.inboxNames())")
        try expectSameTree(source, receiver.inbox + "/many")
    }
}
