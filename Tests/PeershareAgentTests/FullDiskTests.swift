import Foundation
import Glibc
import PeershareAgent
import PeershareCore
import Testing

/// Mounts a tmpfs of `size` on `path` (root only) and unmounts it after `body`.
func withSmallFileSystem<T>(at path: String, size: String, _ body: () throws -> T) throws -> T {
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    let mount = Process()
    mount.executableURL = URL(fileURLWithPath: "/bin/mount")
    mount.arguments = ["-t", "tmpfs", "-o", "size=\(size),mode=0700", "tmpfs", path]
    try mount.run()
    mount.waitUntilExit()
    try #require(mount.terminationStatus == 0, "mount -t tmpfs failed")
    defer {
        let umount = Process()
        umount.executableURL = URL(fileURLWithPath: "/bin/umount")
        umount.arguments = ["-l", path]
        try? umount.run()
        umount.waitUntilExit()
    }
    return try body()
}

/// A disk that fills up while a file is written (issue 5, "a full disk"): the writer reports
/// "no space", and after the abort nothing of the transfer is left, not even a temp file.
@Suite(.enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
struct FullDiskTests {
    @Test("space running out mid-file is a noSpace error, and the abort leaves the inbox empty")
    func diskFillsDuringAFile() throws {
        try withScratchDirectory { root in
            try withSmallFileSystem(at: root + "/inbox", size: "1m") {
                let inbox = try InboxDirectory(path: root + "/inbox")
                let writer = OfferWriter(inbox: inbox, transferID: "full")
                try writer.begin(try makeEntry(.directory, "big"))
                try writer.begin(try makeEntry(.file, "big/data.bin", size: 4 << 20))
                let chunk = [UInt8](repeating: 0xA5, count: 256 << 10)
                var failure: InboxError?
                for _ in 0..<16 {
                    do {
                        try writer.write(chunk)
                    } catch let error as InboxError {
                        failure = error
                        break
                    }
                }
                #expect(failure?.code == .noSpace, "\(String(describing: failure))")
                #expect(failure?.message.lowercased().contains("space") == true, "\(String(describing: failure))")
                writer.abort()
                #expect(namesIn(root + "/inbox").isEmpty, "left behind: \(namesIn(root + "/inbox"))")
                #expect(tempFilesIn(root + "/inbox").isEmpty)
            }
        }
    }

    @Test("free space is what the file system says, and shrinks as data is written")
    func availableBytesTracksTheFileSystem() throws {
        try withScratchDirectory { root in
            try withSmallFileSystem(at: root + "/inbox", size: "4m") {
                let inbox = try InboxDirectory(path: root + "/inbox")
                let before = try inbox.availableBytes()
                #expect(before > 3 << 20 && before <= 4 << 20)
                makeFile(root + "/inbox/filler", [UInt8](repeating: 1, count: 2 << 20))
                let after = try inbox.availableBytes()
                #expect(after <= before - (2 << 20))
            }
        }
    }
}
