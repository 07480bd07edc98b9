import Glibc
import PeershareCore

/// `send --exclude PATTERN`: entries inside the folders sent that the person does not want
/// sent. An excluded entry is not a failure: it is neither sent nor counted as left out,
/// and an excluded folder is never opened, so nothing below it is read.
///
/// Each pattern is an `fnmatch(3)` glob matched against an entry's base name, its path
/// below the folder sent (`src/a.tmp` in `proj`), and that path with the folder's name in
/// front (`proj/src/a.tmp`); in the paths `*` and `?` do not cross a `/`. A pattern ending
/// in `/` (`node_modules/`) matches directories only.
package struct ExcludeRules: Sendable {
    private struct Pattern: Sendable {
        let glob: String
        let directoriesOnly: Bool
    }

    private let patterns: [Pattern]

    package static let none = ExcludeRules([])

    /// At most this many patterns, each at most `maxPatternLength` bytes: they come from the
    /// command line or the control socket, and every entry is matched against each.
    package static let maxPatterns = 256
    package static let maxPatternLength = 1024

    package init(_ patterns: [String]) {
        self.patterns = patterns.compactMap { text in
            let directoriesOnly = text.hasSuffix("/")
            var glob = Substring(text)
            while glob.hasSuffix("/") { glob = glob.dropLast() }
            return glob.isEmpty ? nil : Pattern(glob: String(glob), directoriesOnly: directoriesOnly)
        }
    }

    package var isEmpty: Bool { patterns.isEmpty }

    /// Why a pattern list cannot be used, or nil when it can.
    package static func problem(with patterns: [String]) -> String? {
        if patterns.count > maxPatterns { return "at most \(maxPatterns) --exclude patterns (got \(patterns.count))" }
        if let long = patterns.first(where: { $0.utf8.count > maxPatternLength }) {
            return "an --exclude pattern is longer than \(maxPatternLength) bytes (\(long.utf8.count))"
        }
        if patterns.contains(where: { $0.utf8.contains(0) }) { return "an --exclude pattern contains a NUL byte" }
        return nil
    }

    /// Whether the entry at `path` (inside a folder sent, so at least two components) is
    /// excluded.
    func excludes(_ path: RelativePath, isDirectory: Bool) -> Bool {
        guard !patterns.isEmpty else { return false }
        let name = path.name, top = path.topLevel
        let inside = path.components.dropFirst().joined(separator: "/")
        return patterns.contains { pattern in
            guard isDirectory || !pattern.directoriesOnly else { return false }
            return fnmatch(pattern.glob, name, 0) == 0
                || fnmatch(pattern.glob, inside, FNM_PATHNAME) == 0
                || fnmatch(pattern.glob, top + "/" + inside, FNM_PATHNAME) == 0
        }
    }
}
