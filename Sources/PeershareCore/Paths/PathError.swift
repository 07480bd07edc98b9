/// Why a path, a name or a symlink target from a peer (or from the local disk) was refused.
///
/// Each case carries the offending text as received; `description` shows it only through
/// `DisplayEscape`, so printing an error can never put raw control sequences on a
/// terminal or in a log (hostile-inputs.md item 4).
public enum PathError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The path (or symlink target) is the empty string.
    case empty
    /// The path starts with `/` (`/etc/passwd`, `//srv/share`).
    case absolute(String)
    /// Two `/` in a row, or a trailing `/` (`a//b`, `a/`).
    case emptyComponent(String)
    /// A component is `.` or `..`.
    case dotComponent(String)
    /// A NUL byte somewhere in the text.
    case nul(String)
    /// A C0 control (U+0001–U+001F), DEL (U+007F) or C1 control (U+0080–U+009F).
    case controlCharacter(String)
    /// A bidirectional or invisible direction control (U+061C, U+200E, U+200F,
    /// U+202A–U+202E, U+2066–U+2069), which can make a name display as another name.
    case bidiControl(String)
    /// A backslash anywhere (`..\..\x`, `C:\x`, `\\?\C:\x`).
    case backslash(String)
    /// The first component starts with a drive prefix (`C:`, `C:x`).
    case driveLetter(String)
    /// A component ends in `.` or a space (`name.`, `name `).
    case trailingDotOrSpace(String)
    /// A component contains `/` (only possible when components are given one by one).
    case separatorInComponent(String)
    /// A component is over `PathRules.maxComponentBytes` UTF-8 bytes.
    case componentTooLong(bytes: Int)
    /// The whole path is over `PathRules.maxPathBytes` UTF-8 bytes.
    case pathTooLong(bytes: Int)
    /// The path has more than `PathRules.maxDepth` components.
    case tooDeep(components: Int)
    /// The bytes are not valid UTF-8; the payload is the escaped form (`DisplayEscape.escape(bytes:)`).
    case invalidUTF8(escaped: String)
    /// A symlink target starts with `/`.
    case symlinkAbsolute(String)
    /// A symlink target climbs (`..`) above the top-level directory of the offer.
    case symlinkEscapes(String)
    /// A symlink target has `.` or `..` after a normal name, or an empty component.
    case symlinkMalformed(String)
    /// The symlink itself is a top-level entry; such links are never recreated.
    case symlinkTopLevel(String)

    public var description: String {
        let e = DisplayEscape.escape
        switch self {
        case .empty:
            return "empty path"
        case .absolute(let p):
            return "absolute path '\(e(p))': only relative paths are accepted"
        case .emptyComponent(let p):
            return "empty path component in '\(e(p))' (double or trailing '/')"
        case .dotComponent(let p):
            return "'.' or '..' component in '\(e(p))'"
        case .nul(let p):
            return "NUL character in '\(e(p))'"
        case .controlCharacter(let p):
            return "control character in '\(e(p))'"
        case .bidiControl(let p):
            return "bidirectional or invisible direction control in '\(e(p))'"
        case .backslash(let p):
            return "backslash in '\(e(p))'"
        case .driveLetter(let p):
            return "drive prefix in '\(e(p))'"
        case .trailingDotOrSpace(let p):
            return "a component of '\(e(p))' ends in '.' or a space"
        case .separatorInComponent(let c):
            return "component '\(e(c))' contains '/'"
        case .componentTooLong(let bytes):
            return "path component of \(bytes) bytes (limit \(PathRules.maxComponentBytes))"
        case .pathTooLong(let bytes):
            return "path of \(bytes) bytes (limit \(PathRules.maxPathBytes))"
        case .tooDeep(let components):
            return "path of \(components) components (limit \(PathRules.maxDepth))"
        case .invalidUTF8(let escaped):
            return "invalid UTF-8 in '\(escaped)'"
        case .symlinkAbsolute(let t):
            return "absolute symlink target '\(e(t))'"
        case .symlinkEscapes(let t):
            return "symlink target '\(e(t))' points outside the received tree"
        case .symlinkMalformed(let t):
            return "symlink target '\(e(t))' is not of the form [../]*name[/name]*"
        case .symlinkTopLevel(let p):
            return "top-level symlink '\(e(p))' is not accepted"
        }
    }

    /// Why the path was refused, without the path: for a message that shows the path once
    /// already ("skipped 'a\\b': the name has a backslash").
    public var reason: String {
        switch self {
        case .empty: "the path is empty"
        case .absolute: "the path is absolute"
        case .emptyComponent: "the path has an empty component"
        case .dotComponent: "the path has a '.' or '..' component"
        case .nul: "the name has a NUL character"
        case .controlCharacter: "the name has a control character (tab, newline, escape…)"
        case .bidiControl: "the name has a bidirectional or invisible direction control"
        case .backslash: "the name has a backslash"
        case .driveLetter: "the name starts with a drive prefix"
        case .trailingDotOrSpace: "the name ends in '.' or a space"
        case .separatorInComponent: "the name contains '/'"
        case .componentTooLong(let bytes): "the name is \(bytes) bytes long (limit \(PathRules.maxComponentBytes))"
        case .pathTooLong(let bytes): "the path is \(bytes) bytes long (limit \(PathRules.maxPathBytes))"
        case .tooDeep(let components): "the path is \(components) folders deep (limit \(PathRules.maxDepth))"
        case .invalidUTF8: "the name is not valid UTF-8"
        case .symlinkAbsolute: "the symlink's target is absolute"
        case .symlinkEscapes: "the symlink points outside the sent tree"
        case .symlinkMalformed: "the symlink's target is not of the form [../]*name[/name]*"
        case .symlinkTopLevel: "a symlink is not sent as a top-level entry"
        }
    }
}
