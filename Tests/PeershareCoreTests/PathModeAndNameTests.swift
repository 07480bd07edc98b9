import Testing
@testable import PeershareCore

/// hostile-inputs.md items 10 and 15: safe modes and non-overwriting names.
@Suite("Modes and unique names")
struct PathModeAndNameTests {
    static let modes: [(mode: UInt32, kind: EntryKind, expected: UInt32)] = [
        (0o4755, .file, 0o755),
        (0o2755, .file, 0o755),
        (0o1777, .directory, 0o775),
        (0o777, .file, 0o775),
        (0o777, .directory, 0o775),
        (0o000, .directory, 0o700),
        (0o000, .file, 0o600),
        (0o444, .file, 0o644),
        (0o7777, .directory, 0o775),
        (0o640, .file, 0o640),
    ]

    @Test("safeMode drops setuid, setgid, sticky and world-write; keeps owner access", arguments: modes)
    func safeMode(mode: UInt32, kind: EntryKind, expected: UInt32) {
        #expect(PathRules.safeMode(mode, kind: kind) == expected)
    }

    static let names: [(name: String, attempt: Int, isDirectory: Bool, expected: String)] = [
        ("photo.jpg", 1, false, "photo.jpg"),
        ("photo.jpg", 2, false, "photo (2).jpg"),
        ("photo.jpg", 12, false, "photo (12).jpg"),
        ("a.tar.gz", 2, false, "a.tar (2).gz"),
        ("photos", 2, true, "photos (2)"),
        ("photo.jpg", 3, true, "photo.jpg (3)"),
        ("photos", 2, false, "photos (2)"),
        (".bashrc", 2, false, ".bashrc (2)"),
        ("été.txt", 2, false, "été (2).txt"),
    ]

    @Test("candidate names", arguments: names)
    func candidate(name: String, attempt: Int, isDirectory: Bool, expected: String) {
        #expect(UniqueName.candidate(name, attempt: attempt, isDirectory: isDirectory) == expected)
    }

    @Test("a long name is shortened on a character boundary to stay within 255 bytes")
    func longNames() throws {
        let name = String(repeating: "é", count: 125) + ".txt" // 254 bytes
        let result = UniqueName.candidate(name, attempt: 2)
        #expect(result == String(repeating: "é", count: 123) + " (2).txt")
        try PathRules.validateName(result)

        let graphemes = String(repeating: "e\u{301}", count: 83) + ".txt" // 249 + 4 bytes
        let shortened = UniqueName.candidate(graphemes, attempt: 100)
        // room for the stem: 255 - " (100)" - ".txt" = 245 bytes = 81 whole "e\u{301}" (243 bytes)
        let expected = String(repeating: "e\u{301}", count: 81) + " (100).txt"
        #expect(shortened.utf8.elementsEqual(expected.utf8))

        let hugeExtension = "a." + String(repeating: "x", count: 252)
        let appended = UniqueName.candidate(hugeExtension, attempt: 2)
        #expect(appended.utf8.count == 255)
        #expect(appended.hasSuffix("x (2)"))
        try PathRules.validateName(appended)
    }
}
