import Glibc
import PeershareCore

/// The file an `OfferWriter` is receiving: an exclusively created temp file (or, with
/// resume, a file in the partial area) plus what is needed to finish or discard it.
struct IncomingFile {
    /// `openat(parent, tempName, O_CREAT|O_EXCL|O_WRONLY|O_CLOEXEC|O_NOFOLLOW, 0600)`; owned.
    let descriptor: Int32
    /// The directory that will hold the final name. Borrowed (the inbox descriptor or the
    /// writer's cached parent, which is not replaced while a file is open).
    let parentDescriptor: Int32
    /// The directory holding the temp name: `parentDescriptor`, or the partial area's
    /// descriptor (borrowed from the writer's `PartialArea`).
    var tempDirectory: Int32
    /// `.peershare-<transferID>-<counter>.part`, or a partial-area name.
    let tempName: String
    /// True for a partial-area `.part` file: kept for resume when the transfer fails.
    var resumable = false
    /// Opened with `O_TMPFILE`: it has no name (`tempName` is empty) until `finishFile`
    /// links it under its final one, so a failure leaves nothing behind.
    var unnamed = false
    /// Created with its final, masked mode (`OfferWriter.modeAtCreation`), so `finishFile`
    /// needs no `fchmod`. Partial-area files stay 0600 until they are complete.
    var createdWithFinalMode = false
    let entry: Entry
    /// The entry's path with the placed top-level name (for messages and the final rename).
    let placedPath: String
    /// Where the next `write` goes: bytes written plus holes skipped so far.
    var offset: UInt64 = 0
    /// The end of the last byte actually written; when it is below the size, `finishFile`
    /// extends the file with `ftruncate` so trailing holes exist.
    var writtenEnd: UInt64 = 0

    /// Bytes still expected for this file.
    var remaining: UInt64 { entry.size - offset }
}

/// A directory an `OfferWriter` created with `mkdirat(0700)`: kept for `finishAll`, which
/// applies the declared mode and time once nothing more is added to it, and for `abort`,
/// which removes it again if it is empty.
struct CreatedDirectory {
    /// Path from the inbox, with the placed top-level name.
    let placedComponents: [String]
    let mode: UInt32
    let mtime: timespec

    var placedPath: String { placedComponents.joined(separator: "/") }
    var depth: Int { placedComponents.count }
}
