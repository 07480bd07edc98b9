import PeershareCore

/// What `OfferWriter.abort` did with the file it was writing.
package struct UnfinishedFile: Sendable, Equatable {
    /// The entry's path with the placed top-level name.
    package let placedPath: String
    /// The bytes left in the partial area for a resend to continue; nil when the file was
    /// removed (a file of up to 64 KiB, one with nothing written, or a failure that keeps
    /// nothing unfinished: PROTOCOL.md §6).
    package let keptBytes: UInt64?
}

/// The sentence that tells both people what a failed incoming transfer left behind, so
/// that "sending again resumes" is only said when something is there to resume from.
struct KeptReport {
    let completeFiles: UInt64
    let topLevelNames: [String]
    let unfinished: UnfinishedFile?
    /// A cut or cancel: the transfer's claims stay, so a resend continues into the same
    /// names. After any other failure they are dropped and a resend arrives under new names.
    var resumable = true

    var sentence: String {
        var held: [String] = []
        if completeFiles > 0 {
            held.append("\(completeFiles) complete file(s) in \(DisplayEscape.escape(topLevelNames.joined(separator: ", ")))")
        }
        if let unfinished, let bytes = unfinished.keptBytes {
            held.append("the first \(ByteCount.format(bytes)) of \(DisplayEscape.escape(unfinished.placedPath))")
        }
        let removed = unfinished.flatMap { $0.keptBytes == nil ? DisplayEscape.escape($0.placedPath) : nil }
        guard !held.isEmpty else {
            return "Nothing was kept" + (removed.map { " (the unfinished \($0) was not)" } ?? "") + "; sending again starts over."
        }
        let rest = removed.map { "; the unfinished \($0) was not" } ?? ""
        let resend = resumable ? "sending again sends only the rest" : "sending again sends everything, under a new name"
        return "Kept: \(held.joined(separator: " and "))\(rest); \(resend)."
    }
}
