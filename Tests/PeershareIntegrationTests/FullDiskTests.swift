import Foundation
import Glibc
import Testing

/// A full disk: an offer that cannot fit in the receiver's inbox, here a 16 MiB
/// tmpfs, is refused before any byte is written, and the sender is told why (exit 7).
extension EndToEnd {
    @Test("An offer larger than the inbox's free space is refused up front: exit 7, the reason, nothing written",
          .enabled(if: TestEnvironment.smallFileSystems != nil || TestEnvironment.inCI,
                   "needs PEERSHARE_TEST_SMALLFS: the tmpfs mounts that scripts/test-as-user.sh makes as root"))
    func fullDiskRefusedBeforeAnyByte() async throws {
        let scratch = try Self.scratch("fulldisk")
        defer { scratch.remove() }
        // A 16 MiB tmpfs owned by the test user, mounted by the runner before it dropped root.
        let inbox = try #require(TestEnvironment.smallFileSystems, "PEERSHARE_TEST_SMALLFS is not set") + "/16m"

        let source = try scratch.directory("src") + "/video.bin"
        let bytes = [UInt8](repeating: 0x5A, count: 24 << 20)
        #expect(FileManager.default.createFile(atPath: source, contents: Data(bytes)))

        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root, inbox: inbox)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "s", in: scratch.root)
        let result = try await finishWithCode(try sender.startSend([source], to: receiver), on: receiver)

        #expect(result.exited(7), "a full inbox must end the send with status 7: \(result)")
        let error = result.events("error").last
        #expect(error?.kind == "no-space", "\(result.stdout)")
        let message = error?.message ?? ""
        #expect(message.contains("space"), "the reason must reach the sender: \(message)")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: inbox)) ?? ["<unreadable>"]
        #expect(left.isEmpty, "nothing may be written for a refused offer, not even a temp file: \(left)")
        #expect(receiver.isRunning)
    }
}
