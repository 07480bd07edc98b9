import Foundation
import Glibc
import PeershareAgent
import PeershareCore
import Testing
import PeershareTransfer

/// The small file systems of the full-disk tests. Mounting needs root and the tests run as an
/// ordinary user, so `scripts/test-as-user.sh` mounts them as root before it drops privileges:
/// tmpfs file systems of 1m, 4m and 16m, owned by the test user, under `$PEERSHARE_TEST_SMALLFS`.
/// Without them the suite says why it cannot run; under `CI=true` it runs and fails instead.
enum SmallFileSystem {
    static let root = ProcessInfo.processInfo.environment["PEERSHARE_TEST_SMALLFS"]
    static let enabled = root != nil || ProcessInfo.processInfo.environment["CI"] == "true"
    static let why = "needs PEERSHARE_TEST_SMALLFS: the tmpfs mounts that scripts/test-as-user.sh makes as root"

    /// The empty file system of `size` (1m, 4m or 16m).
    static func path(_ size: String) throws -> String {
        let root = try #require(root, Comment(rawValue: why))
        return root + "/" + size
    }
}

/// A disk that fills up while a file is written (issue 5, "a full disk"): the writer reports
/// "no space", and after the abort nothing of the transfer is left, not even a temp file.
@Suite(.enabled(if: SmallFileSystem.enabled, Comment(rawValue: SmallFileSystem.why)))
struct FullDiskTests {
    @Test("space running out mid-file is a noSpace error, and the abort leaves the inbox empty")
    func diskFillsDuringAFile() throws {
        let small = try SmallFileSystem.path("1m")
        let inbox = try InboxDirectory(path: small)
        let writer = OfferWriter(inbox: inbox, transferID: "full")
        try writer.begin(try makeEntry(.directory, "big"))
        try writer.begin(try makeEntry(.file, "big/data.bin", size: 4 << 20))
        let chunk = [UInt8](repeating: 0xA5, count: 256 << 10)
        var failure: InboxError?
        for _ in 0..<16 {
            do {
                try writer.write(chunk)
            } catch {
                failure = error
                break
            }
        }
        #expect(failure?.code == .noSpace, "\(String(describing: failure))")
        #expect(failure?.message.lowercased().contains("space") == true, "\(String(describing: failure))")
        writer.abort()
        #expect(namesIn(small).isEmpty, "left behind: \(namesIn(small))")
        #expect(tempFilesIn(small).isEmpty)
    }

    @Test("free space is what the file system says, and shrinks as data is written")
    func availableBytesTracksTheFileSystem() throws {
        let small = try SmallFileSystem.path("4m")
        defer { unlink(small + "/filler") }
        let inbox = try InboxDirectory(path: small)
        let before = try inbox.availableBytes()
        #expect(before > 3 << 20 && before <= 4 << 20)
        makeFile(small + "/filler", [UInt8](repeating: 1, count: 2 << 20))
        let after = try inbox.availableBytes()
        #expect(after <= before - (2 << 20))
    }
}
