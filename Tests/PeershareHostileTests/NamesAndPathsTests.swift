import Foundation
import Glibc
import PeershareCore
import Testing

/// A name or path a hostile sender may put on the wire (hostile-inputs.md items 1–6 and 8).
struct BadName: Sendable, CustomTestStringConvertible {
    let item: Int
    let label: String
    let bytes: [UInt8]

    init(_ item: Int, _ label: String, _ text: String) {
        self.item = item
        self.label = label
        self.bytes = Array(text.utf8)
    }

    init(_ item: Int, _ label: String, bytes: [UInt8]) {
        self.item = item
        self.label = label
        self.bytes = bytes
    }

    var testDescription: String { "item \(item): \(label)" }

    static let all: [BadName] = [
        // 1. Traversal.
        BadName(1, "../x", "../x"),
        BadName(1, "a/../../x", "a/../../x"),
        BadName(1, "./../x", "./../x"),
        BadName(1, "..\\..\\x", "..\\..\\x"),
        BadName(1, "d/../../outside/pwned", "d/../../outside/pwned"),
        BadName(1, "d/../../../x", "d/../../../x"),
        // 2. Absolute and Windows forms.
        BadName(2, "/etc/passwd", "/etc/passwd"),
        BadName(2, "//srv/share", "//srv/share"),
        BadName(2, "/tmp/psh-absolute-target", "/tmp/psh-absolute-target"),
        BadName(2, "C:\\x", "C:\\x"),
        BadName(2, "C:x", "C:x"),
        BadName(2, "\\\\?\\C:\\x", "\\\\?\\C:\\x"),
        BadName(2, "d/C:\\x", "d/C:\\x"),
        // 3. NUL.
        BadName(3, "a NUL b", "a\u{0}b"),
        BadName(3, "d/NUL x", "d/\u{0}x"),
        BadName(3, "d/x NUL", "d/x\u{0}"),
        // 4. Controls, escapes, bidi.
        BadName(4, "ESC[1A CR", "\u{1B}[1A\r"),
        BadName(4, "d/ESC[1A CR x", "d/\u{1B}[1A\rx"),
        BadName(4, "d/OSC title BEL", "d/\u{1B}]0;pwned\u{07}"),
        BadName(4, "CR in name", "a\rb"),
        BadName(4, "LF in name", "a\nb"),
        BadName(4, "d/TAB", "d/a\tb"),
        BadName(4, "DEL", "d/a\u{7F}"),
        BadName(4, "C1 CSI U+009B", "d/\u{9B}31mx"),
        BadName(4, "U+202E RLO", "d/\u{202E}gpj.exe"),
        BadName(4, "U+202E top-level", "\u{202E}txt.exe"),
        BadName(4, "U+200F RLM", "d/\u{200F}x"),
        BadName(4, "U+2066 LRI", "d/\u{2066}x"),
        BadName(4, "U+061C ALM", "d/\u{061C}x"),
        // 5. Empty, dots, trailing dot or space.
        BadName(5, "empty", ""),
        BadName(5, ".", "."),
        BadName(5, "..", ".."),
        BadName(5, "trailing dot", "x."),
        BadName(5, "trailing space", "x "),
        BadName(5, "d/.", "d/."),
        BadName(5, "d/..", "d/.."),
        BadName(5, "d//x", "d//x"),
        BadName(5, "d/ (trailing slash)", "d/"),
        BadName(5, "d/x. (nested trailing dot)", "d/x."),
        BadName(5, "d/x  (nested trailing space)", "d/x "),
        // 6. Lengths and depth.
        BadName(6, "component of 256 bytes", "d/" + String(repeating: "a", count: 256)),
        BadName(6, "path of 4097 bytes", "d/" + Array(repeating: String(repeating: "b", count: 255), count: 16).joined(separator: "/")),
        BadName(6, "depth 129", "d" + String(repeating: "/a", count: 128)),
        // 8. Invalid UTF-8.
        BadName(8, "bytes FF FE", bytes: Array("d/".utf8) + [0xFF, 0xFE]),
        BadName(8, "overlong slash C0 AF", bytes: Array("d/a".utf8) + [0xC0, 0xAF] + Array("x".utf8)),
        BadName(8, "surrogate ED A0 80", bytes: Array("d/".utf8) + [0xED, 0xA0, 0x80]),
        BadName(8, "truncated sequence E2 82", bytes: Array("d/".utf8) + [0xE2, 0x82]),
        BadName(8, "lone continuation 80", bytes: [0x80]),
        BadName(8, "above U+10FFFF", bytes: Array("d/".utf8) + [0xF4, 0x90, 0x80, 0x80]),
    ]
}

/// Names and paths (hostile-inputs.md items 1–9, 11, 14, 15), sent by a paired peer in the
/// encrypted stream, where only the receiver's own checks stand between the name and the disk.
@Suite("Names and paths", .serialized, .lab("names"))
struct NamesAndPathsTests {
    /// The usual offer: one directory `d` and one 5-byte file in it.
    static let offerD = Raw.offer(files: 1, directories: 1, total: 5, names: ["d"])

    @Test("A bad path in an ENTRY is refused before anything is written", arguments: BadName.all)
    func badPathInEntry(_ bad: BadName) async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("item \(bad.item) entry path \(bad.label)")
        let session = try await lab.hostile.openAccepted(port: lab.port, offer: Self.offerD)
        try await session.send(Raw.directory("d"))
        try await session.send(Raw.file(bytes: bad.bytes, size: 5))
        let outcome = await session.finalAnswer()
        session.close()
        lab.expectFailure(outcome, probe.label)
        await lab.finish(probe, outcome: outcome)
    }

    @Test("A bad top-level name in the OFFER is refused", arguments: BadName.all)
    func badNameInOffer(_ bad: BadName) async throws {
        let lab = try #require(Lab.current)
        let probe = lab.begin("item \(bad.item) offered name \(bad.label)")
        let session = try await lab.hostile.openKnown(port: lab.port)
        let outcome = try await session.offer(Raw.offer(rawNames: [bad.bytes], files: 1, total: 5))
        session.close()
        lab.expectRejected(outcome, probe.label)
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
        lab.expectRejected(outcome, probe.label)
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
            lab.expectRejected(outcome, probe.label)
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
            lab.expectFailure(outcome, probe.label)
        }
        await lab.finish(probe, outcome: outcome)
    }

    /// Each: the entries after the OFFER (files 3, directories 3 allowed, top-level `d`).
    static let duplicateCases: [(String, [[UInt8]])] = [
        ("directory d twice", [Raw.directory("d"), Raw.directory("d")]),
        ("file d then directory d", [Raw.file("d", size: 0), Raw.directory("d")]),
        ("directory d then file d", [Raw.directory("d"), Raw.file("d", size: 0)]),
        ("file d/x twice", [Raw.directory("d"), Raw.file("d/x", size: 0), Raw.file("d/x", size: 0)]),
        ("file d/x then directory d/x", [Raw.directory("d"), Raw.file("d/x", size: 0), Raw.directory("d/x")]),
        ("d/x before its directory d", [Raw.file("d/x", size: 0)]),
        ("d/x under a file d", [Raw.file("d", size: 0), Raw.file("d/x", size: 0)]),
    ]

    @Test("Duplicate names, and one name as both file and directory, are refused (item 9)", arguments: 0..<7)
    func duplicates(_ index: Int) async throws {
        let lab = try #require(Lab.current)
        let (label, entries) = Self.duplicateCases[index]
        let probe = lab.begin("item 9 \(label)")
        let session = try await lab.hostile.openAccepted(
            port: lab.port, offer: Raw.offer(files: 3, directories: 3, total: 0, names: ["d"]))
        for entry in entries { try await session.send(entry) }
        let outcome = await session.finalAnswer()
        session.close()
        lab.expectFailure(outcome, probe.label)
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
        lab.expectFailure(outcome, probe.label, mentioning: "kind")
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

    static let badSymlinks: [(path: String, target: String)] = [
        ("t/abs", "/etc/passwd"),
        ("t/abs2", "/tmp/psh-absolute-target"),
        ("t/esc", "../outside"),
        ("t/u/esc", "../../x"),
        ("t/u/esc2", "../../../outside/secret.txt"),
        ("t/u/home", "../../../home/.ssh"),
        ("top", "t"),
        ("t/m", "u/../../x"),
        ("t/dot", "./u"),
        ("t/bs", "..\\x"),
        ("t/empty", ""),
        ("t/trailing", "u/"),
        ("t/double", "u//x"),
        ("t/esc-ctl", "u/\u{1B}[1A"),
    ]

    @Test("Symlinks that are absolute, climb out of the tree or are top-level are refused (item 14)", arguments: 0..<14)
    func symlinksLeavingTheTree(_ index: Int) async throws {
        let lab = try #require(Lab.current)
        let (path, target) = Self.badSymlinks[index]
        let probe = lab.begin("item 14 symlink \(path) -> \(DisplayEscape.escape(target))")
        let session = try await lab.hostile.openAccepted(
            port: lab.port, offer: Raw.offer(files: 0, directories: 2, symlinks: 1, total: 0, names: ["t"]))
        try await session.send(Raw.directory("t"))
        try await session.send(Raw.directory("t/u"))
        try await session.send(Raw.symlink(path, target: target))
        let outcome = await session.finalAnswer()
        session.close()
        lab.expectFailure(outcome, probe.label)
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
        lab.expectFailure(outcome, probe.label)
        await lab.finish(probe, outcome: outcome)
    }
}
