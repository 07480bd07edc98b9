/// Picks a free-looking name when a top-level name is already taken in the inbox.
///
/// The receiver never overwrites (hostile-inputs.md item 10): it tries
/// `candidate(name, attempt: 1)`, `attempt: 2`, ... with an exclusive create or a
/// no-replace rename until one succeeds. This type only computes the names.
public enum UniqueName {
    /// The name for try number `attempt`.
    ///
    /// - attempt ≤ 1: `name` unchanged.
    /// - attempt n ≥ 2, a file with an extension: ` (n)` goes before the last extension
    ///   (`photo.jpg` → `photo (2).jpg`, `a.tar.gz` → `a.tar (2).gz`).
    /// - otherwise (a directory, no extension, or a leading-dot name like `.bashrc`):
    ///   ` (n)` is appended (`photos` → `photos (2)`, `.bashrc` → `.bashrc (2)`).
    ///
    /// The result stays within `PathRules.maxComponentBytes` UTF-8 bytes: the stem is
    /// shortened on a `Character` boundary, so no grapheme or UTF-8 sequence is cut.
    public static func candidate(_ name: String, attempt: Int, isDirectory: Bool = false) -> String {
        guard attempt >= 2 else { return name }
        let suffix = " (\(attempt))"
        var stem = Substring(name)
        var ext = Substring("")
        if !isDirectory, let dot = name.lastIndex(of: "."), dot != name.startIndex {
            stem = name[..<dot]
            ext = name[dot...]
        }
        let limit = PathRules.maxComponentBytes
        // An extension so long that no stem fits: treat the whole name as the stem.
        if ext.utf8.count + suffix.utf8.count >= limit {
            stem = Substring(name)
            ext = ""
        }
        let room = limit - suffix.utf8.count - ext.utf8.count
        return shortened(stem, toBytes: room) + suffix + ext
    }

    /// The longest prefix of `s` made of whole `Character`s within `maxBytes` UTF-8 bytes.
    static func shortened(_ s: Substring, toBytes maxBytes: Int) -> String {
        if s.utf8.count <= maxBytes { return String(s) }
        var used = 0
        var end = s.startIndex
        for index in s.indices {
            let next = s.index(after: index)
            let size = s.utf8.distance(from: index, to: next)
            if used + size > maxBytes { break }
            used += size
            end = next
        }
        return String(s[..<end])
    }
}
