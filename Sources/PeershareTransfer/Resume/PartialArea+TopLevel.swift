import Glibc
import PeersharePosix
internal import CPeershareSys
import PeershareCore

/// Which offer a partial file can belong to, without reading it.
///
/// HOLDING goes out before the entries, so the receiver cannot match a partial file to an
/// entry's key; it only knows the offer's top-level names and total size. Hashing every
/// unfinished file of the sender on every offer made a 2-byte send wait seconds behind
/// gigabytes of unrelated partial data. So each `.part` carries the top-level name of its
/// entry in the extended attribute `user.peershare.top-level` (set when it is created or
/// taken up, removed before it gets its final name), and an offer considers only partial
/// files that are no larger than the whole offer and whose top-level name it lists. A file
/// without the attribute (made by an older build, or on a file system without user
/// attributes) is considered by every offer.
extension PartialArea {
    static let topLevelAttribute = "user.peershare.top-level"

    /// Records `original` (a path component, at most 255 bytes) on an open `.part`; a file
    /// system without user attributes leaves the file unlabelled, which only costs a hash.
    static func label(_ fd: Int32, topLevel original: String) {
        let bytes = Array(original.utf8)
        _ = bytes.withUnsafeBytes { psys_fsetxattr(fd, topLevelAttribute, $0.baseAddress, UInt($0.count)) }
    }

    /// Removes the label (and a remembered prefix hash) from a finished file, so neither
    /// stays on it in the inbox.
    static func unlabel(_ fd: Int32) {
        _ = psys_fremovexattr(fd, topLevelAttribute)
        _ = psys_fremovexattr(fd, PrefixHashCache.attribute)
    }

    /// The top-level name `name` was labelled with, or nil when it has none (or cannot be
    /// opened: then the hash fails later and the file is not announced). Reads no data.
    func topLevelLabel(of name: String) -> String? {
        guard let fd = try? SystemCall.openAt(descriptor, name, flags: O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK) else { return nil }
        defer { SystemCall.close(fd) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { psys_fgetxattr(fd, Self.topLevelAttribute, $0.baseAddress, UInt($0.count)) }
        guard count > 0 else { return nil }
        return String(validating: buffer[..<count], as: UTF8.self)
    }

    /// Whether `file` can hold a prefix of a file of an offer with `summary`: the held bytes
    /// fit in the offer's total, and its label (if any) is one of the offer's top-level
    /// names when the offer lists them all.
    func mayBelong(_ file: PartialFile, to summary: OfferSummary) -> Bool {
        guard file.size <= summary.totalBytes else { return false }
        guard summary.listsAllTopLevelNames, let label = topLevelLabel(of: file.name) else { return true }
        return summary.topLevelNames.contains(label)
    }
}
