import Foundation
import Glibc
import PeershareAgent
import PeershareCore
import Testing
import PeershareTransfer

/// Symlinks in the inbox, planted or swapped in, are never followed
/// (hostile-inputs.md items 12–14; Syncthing CVE-2017-1000420).
@Suite struct OfferWriterSymlinkTests {
    @Test func plantedSymlinkInInboxIsNeverFollowed() throws {
        try withScratchDirectory { root in
            let inbox = try InboxDirectory(path: root + "/inbox")
            let outside = root + "/outside"
            try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: false)
            try FileManager.default.createSymbolicLink(atPath: root + "/inbox/link", withDestinationPath: outside)

            // An entry inside `link` with no directory entry for it: refused before any system call.
            let writer = OfferWriter(inbox: inbox, transferID: "s1")
            let refused = #expect(throws: InboxError.self) { try writer.begin(try makeEntry(.file, "link/x", size: 1)) }
            #expect(refused?.code == .refusedEntry)
            writer.abort()

            // With a directory entry, `link` is taken: the offer lands in `link (2)`.
            let second = OfferWriter(inbox: inbox, transferID: "s2")
            try second.begin(try makeEntry(.directory, "link"))
            try second.writeFile(try makeEntry(.file, "link/x", size: 2), [1, 2])
            try second.finishAll()
            #expect(second.placedTopLevelNames == ["link (2)"])
            #expect(contentsOf(root + "/inbox/link (2)/x") == [1, 2])

            #expect(namesIn(outside).isEmpty)
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/inbox/link") == outside)
        }
    }

    @Test func danglingSymlinkInInboxIsNeitherFollowedNorReplaced() throws {
        try withScratchDirectory { root in
            let inbox = try InboxDirectory(path: root + "/inbox")
            let outside = root + "/outside"
            try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: false)
            try FileManager.default.createSymbolicLink(atPath: root + "/inbox/dangling-file",
                                                       withDestinationPath: outside + "/created-file")
            try FileManager.default.createSymbolicLink(atPath: root + "/inbox/dangling-dir",
                                                       withDestinationPath: outside + "/created-dir")

            let writer = OfferWriter(inbox: inbox, transferID: "s3")
            try writer.writeFile(try makeEntry(.file, "dangling-file", size: 3), [7, 7, 7])
            try writer.begin(try makeEntry(.directory, "dangling-dir"))
            try writer.writeFile(try makeEntry(.file, "dangling-dir/y", size: 1), [8])
            try writer.finishAll()

            #expect(writer.placedTopLevelNames == ["dangling-file (2)", "dangling-dir (2)"])
            #expect(namesIn(outside).isEmpty)
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/inbox/dangling-file")
                    == outside + "/created-file")
            #expect(contentsOf(root + "/inbox/dangling-file (2)") == [7, 7, 7])
            #expect(contentsOf(root + "/inbox/dangling-dir (2)/y") == [8])
        }
    }

    @Test func directorySwappedForSymlinkBetweenEntriesIsRefused() throws {
        try withScratchDirectory { root in
            let inbox = try InboxDirectory(path: root + "/inbox")
            let outside = root + "/outside"
            try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: false)

            let writer = OfferWriter(inbox: inbox, transferID: "race")
            try writer.begin(try makeEntry(.directory, "top"))
            try writer.begin(try makeEntry(.directory, "top/dir"))
            // The race: the directory just created is replaced by a symlink to outside.
            try FileManager.default.removeItem(atPath: root + "/inbox/top/dir")
            try FileManager.default.createSymbolicLink(atPath: root + "/inbox/top/dir", withDestinationPath: outside)

            let swapped = #expect(throws: InboxError.self) {
                try writer.writeFile(try makeEntry(.file, "top/dir/file", size: 1), [1])
            }
            #expect(swapped?.code == .symlinkRefused)
            let nested = #expect(throws: InboxError.self) { try writer.begin(try makeEntry(.directory, "top/dir/sub")) }
            #expect(nested?.code == .symlinkRefused)
            writer.abort()

            #expect(namesIn(outside).isEmpty)
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/inbox/top/dir") == outside)
            #expect(lstatOf(outside) != nil)
        }
    }

    @Test func topLevelDirectorySwappedForSymlinkIsRefused() throws {
        try withScratchDirectory { root in
            let inbox = try InboxDirectory(path: root + "/inbox")
            let outside = root + "/outside"
            try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: false)

            let writer = OfferWriter(inbox: inbox, transferID: "race2")
            try writer.begin(try makeEntry(.directory, "top"))
            try FileManager.default.removeItem(atPath: root + "/inbox/top")
            try FileManager.default.createSymbolicLink(atPath: root + "/inbox/top", withDestinationPath: outside)

            let error = #expect(throws: InboxError.self) { try writer.begin(try makeEntry(.directory, "top/d")) }
            #expect(error?.code == .symlinkRefused)
            let file = #expect(throws: InboxError.self) { try writer.begin(try makeEntry(.file, "top/f", size: 1)) }
            #expect(file?.code == .symlinkRefused)
            writer.abort()
            #expect(namesIn(outside).isEmpty)
            #expect(lstatOf(root + "/inbox/top").map { $0.st_mode & S_IFMT } == S_IFLNK)
        }
    }

    @Test(arguments: ["/etc/passwd", "../../outside", "../x", "a/../../b", "", "./x"])
    func symlinkEntriesEscapingTheTreeAreRefused(target: String) throws {
        try withScratchDirectory { root in
            let inbox = try InboxDirectory(path: root + "/inbox")
            let writer = OfferWriter(inbox: inbox, transferID: "bad-link")
            try writer.begin(try makeEntry(.directory, "top"))
            let error = #expect(throws: InboxError.self) {
                try writer.begin(try makeEntry(.symlink, "top/link", target: target))
            }
            #expect(error?.code == .symlinkRefused)
            #expect(lstatOf(root + "/inbox/top/link") == nil)
        }
    }

    @Test func topLevelSymlinkEntryIsRefused() throws {
        try withScratchDirectory { root in
            let inbox = try InboxDirectory(path: root + "/inbox")
            let writer = OfferWriter(inbox: inbox, transferID: "top-link")
            let error = #expect(throws: InboxError.self) { try writer.begin(try makeEntry(.symlink, "l", target: "x")) }
            #expect(error?.code == .symlinkRefused)
            #expect(namesIn(root + "/inbox").isEmpty)
        }
    }
}
