import Glibc
import PeersharePosix
internal import SystemPackage
import PeershareCore

/// Turns what the person asked to send into a `SendPlan`, before anything is sent.
///
/// - Each argument (absolute, or relative to the current directory) becomes one top-level
///   entry named by its last component (trailing `/` ignored; `.` and `..` name the real
///   directory). A top-level symlink is followed, like `cp -r`. Two arguments with the
///   same name are an error naming both.
/// - Directories are walked depth first, a directory before its contents, siblings sorted
///   by name bytes; empty directories and empty files are included.
/// - Inside a tree, symlinks are never followed. One is sent as a symlink only if its
///   target passes `PathRules.validateSymlinkTarget`; otherwise it is skipped with a
///   warning, as are FIFOs, sockets, devices and names `RelativePath` refuses.
/// - A file or directory that cannot be read is an error, so a transfer never starts
///   knowing it will fail half way.
package enum TreeReader {
    /// Plans sending `paths`. Uses `realpath`, `stat`, then per directory `openat`,
    /// `fdopendir`/`readdir`, and per child `fstatat(AT_SYMLINK_NOFOLLOW)` plus `openat`
    /// (readability of files) or `readlinkat` (symlinks).
    /// Inside the folders, entries that `exclude` matches are passed over; the arguments
    /// themselves are always sent.
    package static func plan(paths: [String], exclude: ExcludeRules = .none) throws(SendError) -> SendPlan {
        var builder = PlanBuilder(exclude: exclude)
        var argumentForName: [String: String] = [:]
        let cwd = currentDirectory()
        for argument in paths {
            let top = try TopLevelArgument(argument, cwd: cwd)
            if let other = argumentForName[top.name] {
                throw SendError(.duplicateName,
                                "'\(DisplayEscape.escape(other))' and '\(DisplayEscape.escape(argument))' would both arrive as '\(DisplayEscape.escape(top.name))'; rename one or send them separately")
            }
            argumentForName[top.name] = argument
            try builder.addTopLevel(top)
        }
        return builder.plan()
    }

    /// `getcwd`; an empty string if it cannot be read (relative arguments then fail to resolve).
    private static func currentDirectory() -> String {
        guard let raw = getcwd(nil, 0) else { return "" }
        defer { free(raw) }
        return String(cString: raw)
    }
}

/// One command-line argument, resolved: its top-level name, canonical source path and `stat`.
struct TopLevelArgument {
    let name: String
    /// `realpath` of the argument: absolute, without symlinks, so later opens with
    /// `O_NOFOLLOW` reach the same object.
    let source: String
    let info: stat
    let path: RelativePath

    init(_ argument: String, cwd: String) throws(SendError) {
        guard !argument.isEmpty else { throw SendError(.invalidName, "an empty path cannot be sent") }
        let absolute = argument.hasPrefix("/") ? argument : cwd + "/" + argument
        guard let resolved = realpath(absolute, nil) else {
            throw SendError.system(Errno(rawValue: Glibc.errno), "cannot find", argument)
        }
        let canonical = String(cString: resolved)
        free(resolved)
        source = canonical

        let lexical = argument.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init)
        if let lexical, lexical != ".", lexical != ".." {
            name = lexical
        } else if let real = canonical.split(separator: "/").last {
            name = String(real)
        } else {
            throw SendError(.invalidName, "'\(DisplayEscape.escape(argument))' has no name to send it under")
        }
        do {
            path = try RelativePath(validating: name)
        } catch {
            throw SendError(.invalidName, "cannot send '\(DisplayEscape.escape(argument))': \(error)")
        }
        var info = stat()
        do {
            _ = try SystemCall.retrying { Glibc.fstatat(AT_FDCWD, canonical, &info, 0) }
        } catch {
            throw SendError.system(error, "cannot read", argument)
        }
        self.info = info
    }
}
