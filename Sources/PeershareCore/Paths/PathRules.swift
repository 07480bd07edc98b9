/// The rules every path, name and symlink target from a peer must pass before the
/// receiver does anything with it. Pure functions, no I/O.
///
/// Policy (the receiver runs on Linux only):
/// - A path is a `/`-separated, relative, UTF-8 string of 1 to `maxDepth` components,
///   at most `maxPathBytes` bytes in all and `maxComponentBytes` per component.
/// - Rejected: absolute paths (`/x`, `//srv`), empty components (`a//b`, `a/`), `.` and
///   `..`, NUL, C0 controls, DEL, C1 controls, bidi and invisible direction controls,
///   a backslash anywhere, a drive prefix (`C:`) on the first component, and a component
///   ending in `.` or a space. Nothing is renamed silently: a bad name refuses the entry.
/// - Accepted as is: Windows-reserved names (`CON`, `nul.txt`, `COM1`) and the characters
///   `<>:"|?*`. They are legal and harmless on Linux, our only receiver; rejecting them
///   would refuse ordinary Linux trees for no gain.
/// - Names are compared with Swift `String` equality (canonical equivalence), so NFC and
///   NFD spellings of one name are the same name for duplicate detection; the bytes on
///   disk are the sender's bytes, unnormalized.
/// - The split is done on the `/` byte, not on `Character`s: a `/` followed by a
///   combining mark is one `Character` but still a separator to the kernel.
public enum PathRules {
    /// Longest component in UTF-8 bytes (Linux `NAME_MAX`).
    public static let maxComponentBytes = 255
    /// Longest path in UTF-8 bytes (Linux `PATH_MAX`).
    public static let maxPathBytes = 4096
    /// Most components in one path; bounds recursion and descriptor chains on the receiver.
    public static let maxDepth = 128

    private static let slash = UInt8(ascii: "/")
    private static let dot = UInt8(ascii: ".")
    private static let space = UInt8(ascii: " ")
    private static let colon = UInt8(ascii: ":")

    // MARK: Paths

    /// Validates a `/`-separated relative path and returns its components.
    ///
    /// Checks, in order: empty, total length, characters (NUL, controls, bidi, backslash),
    /// absolute, depth, then each component (empty, `.`/`..`, trailing dot or space,
    /// length) and a drive prefix on the first one. The first failing check is thrown.
    public static func validatedComponents(of text: String) throws(PathError) -> [String] {
        let bytes = text.utf8
        if bytes.isEmpty { throw .empty }
        if bytes.count > maxPathBytes { throw .pathTooLong(bytes: bytes.count) }
        try checkCharacters(text, backslash: true)
        if bytes.first == slash { throw .absolute(text) }
        if let components = componentsIfValid(text) { return components }

        let slices = bytes.split(separator: slash, maxSplits: maxDepth, omittingEmptySubsequences: false)
        if slices.count > maxDepth {
            // Counting the rest costs one pass over at most `maxPathBytes` bytes.
            let total = bytes.reduce(1) { $1 == slash ? $0 + 1 : $0 }
            throw .tooDeep(components: total)
        }
        var components: [String] = []
        components.reserveCapacity(slices.count)
        for slice in slices {
            try checkComponent(slice, in: text)
            components.append(String(decoding: slice, as: UTF8.self))
        }
        if hasDrivePrefix(slices[0]) { throw .driveLetter(text) }
        return components
    }

    /// The components of `text` (characters already checked, not absolute) when every
    /// remaining rule passes, found in one pass over its bytes; nil when any rule fails, so
    /// that `validatedComponents(of:)` finds and throws the same first error as always.
    /// Splitting into an array of slices first cost more than the checks (perf, receiving
    /// a tree of small files validates every path).
    private static func componentsIfValid(_ text: String) -> [String]? {
        let result = text.utf8.withContiguousStorageIfAvailable { bytes -> [String]? in
            var components: [String] = []
            var start = 0
            for index in 0...bytes.count where index == bytes.count || bytes[index] == slash {
                let component = UnsafeBufferPointer(rebasing: bytes[start..<index])
                guard components.count < maxDepth, (try? checkComponent(component, in: text)) != nil,
                      !(components.isEmpty && hasDrivePrefix(component)) else { return nil }
                components.append(String(decoding: component, as: UTF8.self))
                start = index + 1
            }
            return components
        }
        return result ?? nil
    }

    /// Validates raw bytes from the wire: invalid UTF-8 is rejected first, then the
    /// rules of `validatedComponents(of:)` apply. The length cap is checked before decoding.
    public static func validatedComponents(ofUTF8 bytes: some Collection<UInt8>) throws(PathError) -> [String] {
        if bytes.count > maxPathBytes { throw .pathTooLong(bytes: bytes.count) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .invalidUTF8(escaped: DisplayEscape.escape(bytes: bytes))
        }
        return try validatedComponents(of: text)
    }

    /// Validates components given one by one (a directory walk, a renamed top level).
    /// A component containing `/` is rejected instead of being split.
    public static func validatedComponents(components parts: [String]) throws(PathError) -> [String] {
        if let bad = parts.first(where: { $0.utf8.contains(slash) }) {
            throw .separatorInComponent(bad)
        }
        return try validatedComponents(of: parts.joined(separator: "/"))
    }

    /// True if `component` appended to a valid path of `depth` components and `bytes`
    /// UTF-8 bytes gives a valid path: exactly the checks of `validatedComponents(of:)`
    /// that the new part can fail (characters, the component rules, depth, total length;
    /// the drive prefix only concerns the first component, which is unchanged).
    public static func isValidAppended(_ component: String, toDepth depth: Int, bytes: Int) -> Bool {
        guard depth >= 1, depth < maxDepth, bytes + 1 + component.utf8.count <= maxPathBytes,
              !component.utf8.contains(slash) else { return false }
        do {
            try checkCharacters(component, backslash: true)
            try checkComponent(Substring(component).utf8, in: component)
        } catch {
            return false
        }
        return true
    }

    /// Validates a single file name (one component), such as a top-level name in an
    /// offer summary or a name produced by `UniqueName`.
    public static func validateName(_ name: String) throws(PathError) {
        let parts = try validatedComponents(components: [name])
        if parts.count != 1 { throw .separatorInComponent(name) }
    }

    // MARK: Symlinks

    /// Checks that a symlink target, recreated at `linkPath`, resolves inside the
    /// link's top-level directory.
    ///
    /// Accepted form: zero or more leading `..`, then zero or more normal names (each
    /// passing the component rules); no `.`, no `..` after a name, no empty component
    /// (so no trailing `/`). With `linkPath` = `[top, d1, ..., dk, name]`, at most `k`
    /// leading `..` are allowed, so climbing stops at `top` at the highest.
    /// A top-level link (depth 1, k = -1) is always rejected: its parent is the inbox,
    /// which is not part of the received tree.
    ///
    /// Why this is sound without touching the disk: every parent of the link is a real
    /// directory created by the receiver (the stream grammar only accepts entries whose
    /// parent is a directory of the same offer, and the receiver never follows symlinks
    /// when writing), so each leading `..` removes exactly one real directory and `k` of
    /// them end at `top` or below. Going down afterwards only names entries of the tree:
    /// real directories, or symlinks that passed this same check and so resolve inside
    /// `top` themselves. `top` is created fresh by the receiver, and because the target
    /// never names `top`, renaming the top level (`UniqueName`) cannot break or redirect it.
    /// (hostile-inputs.md items 12 and 14.)
    public static func validateSymlinkTarget(_ target: String, linkPath: RelativePath) throws(PathError) {
        let bytes = target.utf8
        if bytes.isEmpty { throw .empty }
        if bytes.count > maxPathBytes { throw .pathTooLong(bytes: bytes.count) }
        try checkCharacters(target, backslash: true)
        if bytes.first == slash { throw .symlinkAbsolute(target) }
        if linkPath.depth < 2 { throw .symlinkTopLevel(linkPath.string) }

        let allowedUps = linkPath.depth - 2
        var ups = 0
        var sawName = false
        var count = 0
        for slice in bytes.split(separator: slash, omittingEmptySubsequences: false) {
            count += 1
            if count > maxDepth { throw .tooDeep(components: count) }
            if slice.isEmpty { throw .symlinkMalformed(target) }
            if slice.elementsEqual("..".utf8) {
                if sawName { throw .symlinkMalformed(target) }
                ups += 1
                if ups > allowedUps { throw .symlinkEscapes(target) }
                continue
            }
            if slice.elementsEqual(".".utf8) { throw .symlinkMalformed(target) }
            try checkComponent(slice, in: target)
            sawName = true
        }
    }

    // MARK: Modes

    /// The permission bits the receiver applies: only `0o777` is kept, world-writable is
    /// dropped, and setuid, setgid and sticky are never set (hostile-inputs.md item 15).
    /// Directories get at least owner `rwx` so the receiver can create their content;
    /// files at least owner `rw` so the person can manage them. Symlink modes are
    /// ignored by Linux; they are masked the same way.
    public static func safeMode(_ mode: UInt32, kind: EntryKind) -> UInt32 {
        let masked = mode & 0o777 & ~UInt32(0o002)
        switch kind {
        case .directory: return masked | 0o700
        case .file: return masked | 0o600
        case .symlink: return masked
        }
    }

    // MARK: Characters

    /// True for bidirectional and invisible direction controls: U+061C, U+200E, U+200F,
    /// U+202A–U+202E, U+2066–U+2069.
    public static func isBidiControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }

    /// True for C0 controls (including NUL), DEL and C1 controls.
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        return v < 0x20 || (0x7F...0x9F).contains(v)
    }

    /// Throws for NUL, controls, bidi controls and (when asked) backslash.
    static func checkCharacters(_ text: String, backslash: Bool) throws(PathError) {
        if isPlainASCII(text, backslash: backslash) { return }
        for scalar in text.unicodeScalars {
            if scalar.value == 0 { throw .nul(text) }
            if isControl(scalar) { throw .controlCharacter(text) }
            if isBidiControl(scalar) { throw .bidiControl(text) }
            if backslash, scalar == "\\" { throw .backslash(text) }
        }
    }

    /// True when every byte of `text` is printable ASCII (0x20–0x7E), and not a backslash
    /// when `backslash` is set: such a text has none of the characters `checkCharacters`
    /// refuses, because every control, C1 control and bidi control is either below 0x20,
    /// 0x7F, or outside ASCII. Anything else goes through the scalar loop, which names the
    /// error. Decoding scalars would be the larger part of checking the paths of a tree of
    /// small files, on both sides.
    static func isPlainASCII(_ text: String, backslash: Bool) -> Bool {
        let backslashByte: UInt8 = backslash ? UInt8(ascii: "\\") : 0
        let plain = text.utf8.withContiguousStorageIfAvailable { bytes in
            for byte in bytes where byte &- 0x20 >= 0x5F || byte == backslashByte {
                return false
            }
            return true
        }
        return plain ?? false
    }

    /// Component rules that do not depend on characters (already checked on the whole text).
    private static func checkComponent(_ c: some BidirectionalCollection<UInt8>, in text: String) throws(PathError) {
        if c.isEmpty { throw .emptyComponent(text) }
        if c.count <= 2, c.allSatisfy({ $0 == dot }) { throw .dotComponent(text) }
        if let last = c.last, last == dot || last == space { throw .trailingDotOrSpace(text) }
        if c.count > maxComponentBytes { throw .componentTooLong(bytes: c.count) }
    }

    /// `^[A-Za-z]:`: a Windows drive prefix, which some tools treat as absolute.
    private static func hasDrivePrefix(_ c: some Collection<UInt8>) -> Bool {
        var it = c.makeIterator()
        guard let first = it.next(), let second = it.next() else { return false }
        let isLetter = (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(first)
            || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first)
        return isLetter && second == colon
    }
}
