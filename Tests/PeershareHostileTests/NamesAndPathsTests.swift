import Foundation
import Glibc
import PeershareCore
import Testing

/// The rule a bad name breaks, as the agent names it in its answer. Each case must be refused
/// for its own rule: a refusal for another reason ("not in the offer") would not show that
/// the rule exists.
enum PathRule: Sendable {
    case dotComponent, backslash, absolute, drive, nul, control, bidi, empty, emptyComponent, trailingDotOrSpace
    case componentTooLong, tooDeep, pathTooLong, invalidUTF8

    /// The text of the rule in the FAILURE that refuses the path in an ENTRY.
    var entryText: String {
        switch self {
        case .dotComponent: "Protocol error: invalid path: '.' or '..' component in '"
        case .backslash: "Protocol error: invalid path: backslash in '"
        case .absolute: "Protocol error: invalid path: absolute path '"
        case .drive: "Protocol error: invalid path: drive prefix in '"
        case .nul: "Protocol error: invalid path: NUL character in '"
        case .control: "Protocol error: invalid path: control character in '"
        case .bidi: "Protocol error: invalid path: bidirectional or invisible direction control in '"
        case .empty: "Protocol error: invalid path: empty path"
        case .emptyComponent: "Protocol error: invalid path: empty path component in '"
        case .trailingDotOrSpace: "Protocol error: invalid path: a component of '"
        case .componentTooLong: "Protocol error: invalid path: path component of 256 bytes (limit 255)"
        case .tooDeep: "Protocol error: invalid path: path of 129 components (limit 128)"
        case .pathTooLong: "Protocol error: field 'path' of 4097 bytes (limit 4096)"
        case .invalidUTF8: "Protocol error: field 'path' is not valid UTF-8"
        }
    }
}

/// A name or path a hostile sender may put on the wire (hostile-inputs.md items 1–6 and 8),
/// with the path rule it breaks.
struct BadName: Sendable, CustomTestStringConvertible {
    let item: Int
    let label: String
    let bytes: [UInt8]
    let rule: PathRule

    init(_ item: Int, _ label: String, _ text: String, _ rule: PathRule) {
        self.init(item, label, bytes: Array(text.utf8), rule)
    }

    init(_ item: Int, _ label: String, bytes: [UInt8], _ rule: PathRule) {
        self.item = item
        self.label = label
        self.bytes = bytes
        self.rule = rule
    }

    /// The first component, when it is a plain name (ASCII letters) that an offer can list;
    /// otherwise `d`. An ENTRY's path must begin with an offered top-level name, so offering
    /// the path's own first component lets the path reach the path rules; for a path whose
    /// first component no offer can list (`..`, empty, `C:x`, a bad single name), the
    /// expected reason shows the path rules, not the offer check, refused it.
    var offeredTopLevel: String {
        let first = bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).first ?? []
        let plain = !first.isEmpty && first.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0 | 0x20) }
        return plain && bytes.contains(UInt8(ascii: "/")) ? String(decoding: first, as: UTF8.self) : "d"
    }

    /// What the agent answers when this is offered as a top-level name: a name with a `/` is
    /// not a single component; the codec's caps and UTF-8 check come before the path rules.
    var offeredAnswer: Rejection {
        switch rule {
        case .componentTooLong, .tooDeep, .pathTooLong: .badOffer("bad offer: field 'topLevelName' of \(bytes.count) bytes (limit 255)")
        case .invalidUTF8: .badOffer("bad offer: field 'topLevelName' is not valid UTF-8")
        case _ where bytes.contains(UInt8(ascii: "/")): .badOffer("' contains '/'")
        default: .badOffer("bad offer: " + rule.entryText.dropFirst("Protocol error: ".count))
        }
    }

    var testDescription: String { "item \(item): \(label)" }

    static let all: [BadName] = [
        // 1. Traversal.
        BadName(1, "../x", "../x", .dotComponent),
        BadName(1, "a/../../x", "a/../../x", .dotComponent),
        BadName(1, "./../x", "./../x", .dotComponent),
        BadName(1, "..\\..\\x", "..\\..\\x", .backslash),
        BadName(1, "d/../../outside/pwned", "d/../../outside/pwned", .dotComponent),
        BadName(1, "d/../../../x", "d/../../../x", .dotComponent),
        // 2. Absolute and Windows forms.
        BadName(2, "/etc/passwd", "/etc/passwd", .absolute),
        BadName(2, "//srv/share", "//srv/share", .absolute),
        BadName(2, "/tmp/psh-absolute-target", "/tmp/psh-absolute-target", .absolute),
        BadName(2, "C:\\x", "C:\\x", .backslash),
        BadName(2, "C:x", "C:x", .drive),
        BadName(2, "\\\\?\\C:\\x", "\\\\?\\C:\\x", .backslash),
        BadName(2, "d/C:\\x", "d/C:\\x", .backslash),
        // 3. NUL.
        BadName(3, "a NUL b", "a\u{0}b", .nul),
        BadName(3, "d/NUL x", "d/\u{0}x", .nul),
        BadName(3, "d/x NUL", "d/x\u{0}", .nul),
        // 4. Controls, escapes, bidi.
        BadName(4, "ESC[1A CR", "\u{1B}[1A\r", .control),
        BadName(4, "d/ESC[1A CR x", "d/\u{1B}[1A\rx", .control),
        BadName(4, "d/OSC title BEL", "d/\u{1B}]0;pwned\u{07}", .control),
        BadName(4, "CR in name", "a\rb", .control),
        BadName(4, "LF in name", "a\nb", .control),
        BadName(4, "d/TAB", "d/a\tb", .control),
        BadName(4, "DEL", "d/a\u{7F}", .control),
        BadName(4, "C1 CSI U+009B", "d/\u{9B}31mx", .control),
        BadName(4, "U+202E RLO", "d/\u{202E}gpj.exe", .bidi),
        BadName(4, "U+202E top-level", "\u{202E}txt.exe", .bidi),
        BadName(4, "U+200F RLM", "d/\u{200F}x", .bidi),
        BadName(4, "U+2066 LRI", "d/\u{2066}x", .bidi),
        BadName(4, "U+061C ALM", "d/\u{061C}x", .bidi),
        // 5. Empty, dots, trailing dot or space.
        BadName(5, "empty", "", .empty),
        BadName(5, ".", ".", .dotComponent),
        BadName(5, "..", "..", .dotComponent),
        BadName(5, "trailing dot", "x.", .trailingDotOrSpace),
        BadName(5, "trailing space", "x ", .trailingDotOrSpace),
        BadName(5, "d/.", "d/.", .dotComponent),
        BadName(5, "d/..", "d/..", .dotComponent),
        BadName(5, "d//x", "d//x", .emptyComponent),
        BadName(5, "d/ (trailing slash)", "d/", .emptyComponent),
        BadName(5, "d/x. (nested trailing dot)", "d/x.", .trailingDotOrSpace),
        BadName(5, "d/x  (nested trailing space)", "d/x ", .trailingDotOrSpace),
        // 6. Lengths and depth.
        BadName(6, "component of 256 bytes", "d/" + String(repeating: "a", count: 256), .componentTooLong),
        BadName(6, "path of 4097 bytes", "d/" + Array(repeating: String(repeating: "b", count: 255), count: 16).joined(separator: "/"), .pathTooLong),
        BadName(6, "depth 129", "d" + String(repeating: "/a", count: 128), .tooDeep),
        // 8. Invalid UTF-8.
        BadName(8, "bytes FF FE", bytes: Array("d/".utf8) + [0xFF, 0xFE], .invalidUTF8),
        BadName(8, "overlong slash C0 AF", bytes: Array("d/a".utf8) + [0xC0, 0xAF] + Array("x".utf8), .invalidUTF8),
        BadName(8, "surrogate ED A0 80", bytes: Array("d/".utf8) + [0xED, 0xA0, 0x80], .invalidUTF8),
        BadName(8, "truncated sequence E2 82", bytes: Array("d/".utf8) + [0xE2, 0x82], .invalidUTF8),
        BadName(8, "lone continuation 80", bytes: [0x80], .invalidUTF8),
        BadName(8, "above U+10FFFF", bytes: Array("d/".utf8) + [0xF4, 0x90, 0x80, 0x80], .invalidUTF8),
    ]
}

/// Names and paths (hostile-inputs.md items 1–9, 11, 14, 15), sent by a paired peer in the
/// encrypted stream, where only the receiver's own checks stand between the name and the disk.
@Suite("Names and paths", .serialized, .lab("names"))
struct NamesAndPathsTests {
    /// The usual offer: one directory `d` and one 5-byte file in it.
    static let offerD = Raw.offer(files: 1, directories: 1, total: 5, names: ["d"])

    @Test("A bad path in an ENTRY is refused by its path rule before anything is written", arguments: BadName.all)
    func badPathInEntry(_ bad: BadName) async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("item \(bad.item) entry path \(bad.label)")
        let top = bad.offeredTopLevel
        let session = try await lab.hostile.openAccepted(port: lab.port,
                                                         offer: Raw.offer(files: 1, directories: 1, total: 5, names: [top]))
        try await session.send(Raw.directory(top))
        try await session.send(Raw.file(bytes: bad.bytes, size: 5))
        let outcome = await session.finalAnswer()
        session.close()
        lab.expectRejected(outcome, probe.label, .protocolError(bad.rule.entryText))
        await lab.finish(probe, outcome: outcome)
    }

    @Test("A bad top-level name in the OFFER is refused by its rule", arguments: BadName.all)
    func badNameInOffer(_ bad: BadName) async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("item \(bad.item) offered name \(bad.label)")
        let session = try await lab.hostile.openKnown(port: lab.port)
        let outcome = try await session.offer(Raw.offer(rawNames: [bad.bytes], files: 1, total: 5))
        session.close()
        lab.expectRejected(outcome, probe.label, bad.offeredAnswer)
        await lab.finish(probe, outcome: outcome)
    }

    @Test("A bad sender name in the OFFER is refused (item 4)",
          arguments: ["evil\u{1B}[2J", "bell\u{07}", "rlo\u{202E}eman", "cr\rlf\n", "nul\u{0}"].map(EscapedText.init))
    func badSenderName(_ text: EscapedText) async throws {
        let lab = try #require(Lab.current)
        let name = text.value
        let probe = lab.begin("item 4 sender name \(DisplayEscape.escape(name))")
        let session = try await lab.hostile.openKnown(port: lab.port)
        let outcome = try await session.offer(Raw.offer(sender: name, files: 1, total: 1, names: ["x"]))
        session.close()
        lab.expectRejected(outcome, probe.label, .badOffer("bad offer: field 'senderName' contains control or bidi characters"))
        await lab.finish(probe, outcome: outcome)
    }

    @Test("Windows-reserved names and <>:\"|?* are accepted as plain Linux names (item 7, documented policy)")
    func windowsReservedNamesPolicy() async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("item 7 Windows-reserved names")
        let names = ["CON", "nul.txt", "COM1", "aux", "LPT1.txt", "<>:\"|?*"]
        let session = try await lab.hostile.openAccepted(
            port: lab.port, offer: Raw.offer(files: UInt64(names.count) + 1, directories: 1, total: UInt64(names.count) + 1,
                                             names: ["win", "CON"]))
        try await session.send(Raw.directory("win"))
        for name in names {
            try await session.send(Raw.file("win/" + name, size: 1))
            try await session.send(Raw.data([UInt8(ascii: "w")]))
        }
        try await session.send(Raw.file("CON", size: 1))
        try await session.send(Raw.data([UInt8(ascii: "c")]))
        try await session.send(Raw.end(files: UInt64(names.count) + 1, bytes: UInt64(names.count) + 1), final: true)
        let outcome = await session.finalAnswer()
        session.close()
        guard case .done = outcome else {
            Issue.record("\(probe.label): expected DONE (policy: accepted), got \(outcome)")
            await lab.finish(probe, outcome: outcome, expect: .checkedByTest)
            return
        }
        let expected = Set((["win", "CON"] + names.map { "win/" + $0 }).map { Array($0.utf8) })
        for name in names {
            #expect(readFileBytes(lab.inbox + "/win/" + name) == [UInt8(ascii: "w")], "win/\(name) content")
        }
        await lab.finish(probe, outcome: outcome, expect: .exactly(expected))
    }

    @Test("NFC and NFD spellings of one name are the same name (item 8)", arguments: [0, 1, 2, 3])
    func canonicalEquivalence(_ variant: Int) async throws {
        let lab = try #require(Lab.current)
        let nfc = "\u{E9}t\u{E9}"          // été, precomposed
        let nfd = "e\u{301}te\u{301}"      // été, decomposed
        let labels = ["directory twice (NFC, NFD)", "file twice (NFC, NFD)", "child under the other spelling of its parent",
                      "both spellings listed as top-level names"]
        let probe = lab.begin("item 8 \(labels[variant])")
        let outcome: Outcome
        if variant == 3 {
            let session = try await lab.hostile.openKnown(port: lab.port)
            outcome = try await session.offer(Raw.offer(files: 0, directories: 2, total: 0, names: [nfc, nfd]))
            session.close()
            lab.expectRejected(outcome, probe.label, .badOffer("' listed twice"))
        } else {
            let session = try await lab.hostile.openAccepted(
                port: lab.port, offer: Raw.offer(files: 2, directories: 3, total: 0, names: ["n"]))
            try await session.send(Raw.directory("n"))
            switch variant {
            case 0:
                try await session.send(Raw.directory("n/" + nfc))
                try await session.send(Raw.directory("n/" + nfd))
            case 1:
                try await session.send(Raw.file("n/" + nfc, size: 0))
                try await session.send(Raw.file("n/" + nfd, size: 0))
            default:
                try await session.send(Raw.directory("n/" + nfc))
                try await session.send(Raw.file("n/" + nfd + "/x", size: 0))
            }
            outcome = await session.finalAnswer()
            session.close()
            // (The name in the text is left out: either spelling may be shown.)
            lab.expectRejected(outcome, probe.label, .protocolError(variant == 2
                ? "x' is spelled differently from the directory sent" : "Protocol error: duplicate path 'n/"))
        }
        await lab.finish(probe, outcome: outcome)
    }

    /// Each: the entries after the OFFER (files 3, directories 3 allowed, top-level `d`), and
    /// the agent's answer.
    static let duplicateCases: [(String, [[UInt8]], String)] = [
        ("directory d twice", [Raw.directory("d"), Raw.directory("d")], "duplicate path 'd'"),
        ("file d then directory d", [Raw.file("d", size: 0), Raw.directory("d")], "duplicate path 'd'"),
        ("directory d then file d", [Raw.directory("d"), Raw.file("d", size: 0)], "duplicate path 'd'"),
        ("file d/x twice", [Raw.directory("d"), Raw.file("d/x", size: 0), Raw.file("d/x", size: 0)], "duplicate path 'd/x'"),
        ("file d/x then directory d/x", [Raw.directory("d"), Raw.file("d/x", size: 0), Raw.directory("d/x")], "duplicate path 'd/x'"),
        ("d/x before its directory d", [Raw.file("d/x", size: 0)], "the parent of 'd/x' was not sent as a directory before it"),
        ("d/x under a file d", [Raw.file("d", size: 0), Raw.file("d/x", size: 0)], "the parent of 'd/x' was not sent as a directory before it"),
    ]

    @Test("Duplicate names, and one name as both file and directory, are refused (item 9)", arguments: 0..<7)
    func duplicates(_ index: Int) async throws {
        let lab = try #require(Lab.current)
        let (label, entries, answer) = Self.duplicateCases[index]
        let probe = lab.begin("item 9 \(label)")
        let session = try await lab.hostile.openAccepted(
            port: lab.port, offer: Raw.offer(files: 3, directories: 3, total: 0, names: ["d"]))
        for entry in entries { try await session.send(entry) }
        let outcome = await session.finalAnswer()
        session.close()
        lab.expectRejected(outcome, probe.label, .protocolError(answer))
        await lab.finish(probe, outcome: outcome)
    }

    @Test("Hard links, FIFOs, devices and other unknown entry kinds are never created (item 11)",
          arguments: [UInt8(0), 4, 5, 6, 7, 0x7F, 0xFF])
    func unknownEntryKinds(_ kind: UInt8) async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("item 11 entry kind \(kind)")
        let session = try await lab.hostile.openAccepted(port: lab.port, offer: Self.offerD)
        try await session.send(Raw.directory("d"))
        try await session.send(Raw.entry(kind: kind, path: Array("d/node".utf8), size: 0, target: Array("x".utf8)))
        let outcome = await session.finalAnswer()
        session.close()
        lab.expectRejected(outcome, probe.label, .protocolError("Protocol error: unknown entry kind \(kind)"))
        await lab.finish(probe, outcome: outcome)
    }

    @Test("Relative symlinks inside the received tree are recreated as sent (item 14)")
    func symlinksInsideTheTree() async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("item 14 symlinks inside the tree")
        let session = try await lab.hostile.openAccepted(
            port: lab.port, offer: Raw.offer(files: 1, directories: 2, symlinks: 3, total: 2, names: ["t"]))
        try await session.send(Raw.directory("t"))
        try await session.send(Raw.directory("t/u"))
        try await session.send(Raw.file("t/u/f", size: 2))
        try await session.send(Raw.data(Array("ok".utf8)))
        try await session.send(Raw.symlink("t/l", target: "u/f"))
        try await session.send(Raw.symlink("t/u/up", target: "../u"))
        try await session.send(Raw.symlink("t/u/dangling", target: "../nothing"))
        try await session.send(Raw.end(files: 1, bytes: 2), final: true)
        let outcome = await session.finalAnswer()
        session.close()
        guard case .done = outcome else {
            Issue.record("\(probe.label): expected DONE, got \(outcome)")
            await lab.finish(probe, outcome: outcome, expect: .checkedByTest)
            return
        }
        let created = lab.newEntries(since: probe)
        #expect(created[Array("t/l".utf8)]?.linkTarget == Array("u/f".utf8))
        #expect(created[Array("t/u/up".utf8)]?.linkTarget == Array("../u".utf8))
        #expect(created[Array("t/u/dangling".utf8)]?.linkTarget == Array("../nothing".utf8))
        let expected = Set(["t", "t/u", "t/u/f", "t/l", "t/u/up", "t/u/dangling"].map { Array($0.utf8) })
        await lab.finish(probe, outcome: outcome, expect: .exactly(expected))
    }

    /// Each: the link, its target, and the rule the agent names.
    static let badSymlinks: [(path: String, target: String, answer: String)] = [
        ("t/abs", "/etc/passwd", "invalid symlink target: absolute symlink target '/etc/passwd'"),
        ("t/abs2", "/tmp/psh-absolute-target", "invalid symlink target: absolute symlink target '/tmp/psh-absolute-target'"),
        ("t/esc", "../outside", "invalid symlink target: symlink target '../outside' points outside the received tree"),
        ("t/u/esc", "../../x", "invalid symlink target: symlink target '../../x' points outside the received tree"),
        ("t/u/esc2", "../../../outside/secret.txt", "invalid symlink target: symlink target '../../../outside/secret.txt' points outside the received tree"),
        ("t/u/home", "../../../home/.ssh", "invalid symlink target: symlink target '../../../home/.ssh' points outside the received tree"),
        ("top", "t", "invalid symlink target: top-level symlink 'top' is not accepted"),
        ("t/m", "u/../../x", "invalid symlink target: symlink target 'u/../../x' is not of the form [../]*name[/name]*"),
        ("t/dot", "./u", "invalid symlink target: symlink target './u' is not of the form [../]*name[/name]*"),
        ("t/bs", "..\\x", "invalid symlink target: backslash in '"),
        ("t/empty", "", "invalid symlink target: empty path"),
        ("t/trailing", "u/", "invalid symlink target: symlink target 'u/' is not of the form [../]*name[/name]*"),
        ("t/double", "u//x", "invalid symlink target: symlink target 'u//x' is not of the form [../]*name[/name]*"),
        ("t/esc-ctl", "u/\u{1B}[1A", "invalid symlink target: control character in '"),
    ]

    @Test("Symlinks that are absolute, climb out of the tree or are top-level are refused (item 14)", arguments: 0..<14)
    func symlinksLeavingTheTree(_ index: Int) async throws {
        let lab = try #require(Lab.current)
        let (path, target, answer) = Self.badSymlinks[index]
        let probe = lab.begin("item 14 symlink \(path) -> \(DisplayEscape.escape(target))")
        let session = try await lab.hostile.openAccepted(
            port: lab.port, offer: Raw.offer(files: 0, directories: 2, symlinks: 1, total: 0, names: ["t"]))
        try await session.send(Raw.directory("t"))
        try await session.send(Raw.directory("t/u"))
        try await session.send(Raw.symlink(path, target: target))
        let outcome = await session.finalAnswer()
        session.close()
        lab.expectRejected(outcome, probe.label, .protocolError(answer))
        await lab.finish(probe, outcome: outcome)
    }

    @Test("Received files are never setuid, setgid, sticky or world-writable (item 15)")
    func modesAreMasked() async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("item 15 modes")
        let session = try await lab.hostile.openAccepted(
            port: lab.port, offer: Raw.offer(files: 4, directories: 2, total: 4, names: ["m"]))
        try await session.send(Raw.directory("m", mode: 0o7777))
        try await session.send(Raw.directory("m/sub", mode: 0o1777))
        for (name, mode) in [("f", UInt64(0o7777)), ("g", 0o4755), ("h", 0o2777), ("z", 0)] {
            try await session.send(Raw.file("m/" + name, size: 1, mode: mode))
            try await session.send(Raw.data([1]))
        }
        try await session.send(Raw.end(files: 4, bytes: 4), final: true)
        let outcome = await session.finalAnswer()
        session.close()
        guard case .done = outcome else {
            Issue.record("\(probe.label): expected DONE, got \(outcome)")
            await lab.finish(probe, outcome: outcome, expect: .checkedByTest)
            return
        }
        let expectedModes: [String: UInt32] = ["m": 0o775, "m/sub": 0o775, "m/f": 0o775, "m/g": 0o755, "m/h": 0o775, "m/z": 0o600]
        let created = lab.newEntries(since: probe)
        for (path, mode) in expectedModes {
            let node = created[Array(path.utf8)]
            let actual = (node?.mode ?? 0) & 0o7777
            #expect(actual & 0o7000 == 0, "\(path): setuid/setgid/sticky set (mode \(String(actual, radix: 8)))")
            #expect(actual & 0o002 == 0, "\(path): world-writable (mode \(String(actual, radix: 8)))")
            #expect(actual == mode, "\(path): mode \(String(actual, radix: 8)), expected \(String(mode, radix: 8))")
        }
        await lab.finish(probe, outcome: outcome, expect: .exactly(Set(expectedModes.keys.map { Array($0.utf8) })))
    }

    @Test("A mode above 0o7777 is refused (item 15)")
    func modeOutOfRange() async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("item 15 mode 0o10644")
        let session = try await lab.hostile.openAccepted(port: lab.port, offer: Self.offerD)
        try await session.send(Raw.directory("d"))
        try await session.send(Raw.file("d/x", size: 5, mode: 0o10644))
        let outcome = await session.finalAnswer()
        session.close()
        lab.expectRejected(outcome, probe.label, .protocolError("Protocol error: field 'mode' out of range: 4516"))
        await lab.finish(probe, outcome: outcome)
    }
}
