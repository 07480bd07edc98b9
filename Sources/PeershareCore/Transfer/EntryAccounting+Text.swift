/// TEXT (protocol 1.1, capability `text`): the offer's only file as one message. Whether
/// the capability was agreed is the session's check; this is the grammar's.
extension EntryAccounting {
    /// Accepts TEXT in place of the first ENTRY and its DATA: only when the offer is exactly
    /// one top-level regular file (no directory, no symlink, its name listed) whose size is
    /// the text's UTF-8 length, so the person approved exactly what is written. Returns
    /// that file's entry (mode 0644, modified at `mtimeSeconds`), already complete.
    public mutating func text(_ text: String, mtimeSeconds: Int64) throws(WireError) -> Entry {
        guard let summary, files == 0, directories == 0, symlinks == 0, pendingResume == nil,
              summary.fileCount == 1, summary.directoryCount == 0, summary.symlinkCount == 0,
              summary.listsAllTopLevelNames, summary.topLevelNames.count == 1 else {
            throw .unexpectedMessage(received: "text", expected: "an offer of one file only, before any entry")
        }
        let size = UInt64(text.utf8.count)
        guard size == summary.totalBytes, size <= UInt64(WireLimits.maxText) else {
            throw .valueOutOfRange(field: "text", value: size)
        }
        let path: RelativePath
        do throws(PathError) { path = try RelativePath(validating: summary.topLevelNames[0]) } catch { throw .invalidPath(error) }
        guard path.depth == 1 else { throw .topLevelNotInOffer(path.string) }
        let entry = Entry(kind: .file, path: path, size: size, mode: 0o644, mtimeSeconds: mtimeSeconds)
        if try !beginEntry(entry) { _ = try data(count: Int(size)) }
        return entry
    }
}
