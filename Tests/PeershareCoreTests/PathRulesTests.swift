import Testing
@testable import PeershareCore

/// hostile-inputs.md items 1–9: every bad name or path is refused with the specific error.
@Suite("Path rules")
struct PathRulesTests {
    static let component240 = String(repeating: "a", count: 240)

    static let rejected: [(String, PathError)] = [
        // 1. traversal
        ("../x", .dotComponent("../x")),
        ("a/../../x", .dotComponent("a/../../x")),
        ("./../x", .dotComponent("./../x")),
        ("..\\..\\x", .backslash("..\\..\\x")),
        // 2. absolute and Windows forms
        ("/etc/passwd", .absolute("/etc/passwd")),
        ("//srv/share", .absolute("//srv/share")),
        ("C:\\x", .backslash("C:\\x")),
        ("C:x", .driveLetter("C:x")),
        ("C:", .driveLetter("C:")),
        ("c:/x", .driveLetter("c:/x")),
        ("\\\\?\\C:\\x", .backslash("\\\\?\\C:\\x")),
        // 3. NUL
        ("a\u{0}b", .nul("a\u{0}b")),
        ("dir/\u{0}", .nul("dir/\u{0}")),
        // 4. controls and bidi
        ("\u{1B}[1A\r", .controlCharacter("\u{1B}[1A\r")),
        ("a\rb", .controlCharacter("a\rb")),
        ("a\nb", .controlCharacter("a\nb")),
        ("a\tb", .controlCharacter("a\tb")),
        ("del\u{7F}", .controlCharacter("del\u{7F}")),
        ("c1\u{85}", .controlCharacter("c1\u{85}")),
        ("csi\u{9B}2J", .controlCharacter("csi\u{9B}2J")),
        ("gpj\u{202E}.exe", .bidiControl("gpj\u{202E}.exe")),
        ("a\u{200E}", .bidiControl("a\u{200E}")),
        ("a\u{200F}", .bidiControl("a\u{200F}")),
        ("a\u{202A}", .bidiControl("a\u{202A}")),
        ("a\u{2066}b", .bidiControl("a\u{2066}b")),
        ("a\u{2069}b", .bidiControl("a\u{2069}b")),
        ("a\u{061C}b", .bidiControl("a\u{061C}b")),
        // 5. empty, dots, trailing dot or space
        ("", .empty),
        (".", .dotComponent(".")),
        ("..", .dotComponent("..")),
        ("a/.", .dotComponent("a/.")),
        ("a//b", .emptyComponent("a//b")),
        ("a/", .emptyComponent("a/")),
        ("name.", .trailingDotOrSpace("name.")),
        ("name ", .trailingDotOrSpace("name ")),
        ("a/b./c", .trailingDotOrSpace("a/b./c")),
        ("...", .trailingDotOrSpace("...")),
        // A `/` followed by a combining mark is one Character but still a separator.
        ("x/\u{301}../y", .trailingDotOrSpace("x/\u{301}../y")),
        // 6. caps
        (String(repeating: "a", count: 256), .componentTooLong(bytes: 256)),
        (String(repeating: "é", count: 128), .componentTooLong(bytes: 256)),
        (Array(repeating: component240, count: 16).joined(separator: "/") + "/" + component240 + "b",
         .pathTooLong(bytes: 4097)),
        (Array(repeating: "d", count: 129).joined(separator: "/"), .tooDeep(components: 129)),
    ]

    @Test("bad paths are rejected with the specific error", arguments: rejected)
    func rejects(path: String, expected: PathError) {
        #expect(throws: expected) { try PathRules.validatedComponents(of: path) }
        #expect(throws: expected) { try RelativePath(validating: path) }
    }

    static let accepted: [(String, [String])] = [
        ("Fotos/été 2024/IMG_0001.JPG", ["Fotos", "été 2024", "IMG_0001.JPG"]),
        ("naïve.txt", ["naïve.txt"]),
        ("日本語/ファイル", ["日本語", "ファイル"]),
        // 7. Windows-reserved names and characters are accepted (Linux-only receiver).
        ("CON", ["CON"]),
        ("nul.txt", ["nul.txt"]),
        ("COM1", ["COM1"]),
        ("<>:\"|?*", ["<>:\"|?*"]),
        ("dir/a:b", ["dir", "a:b"]),
        ("ab:c", ["ab:c"]),
        ("1:x", ["1:x"]),
        (".bashrc", [".bashrc"]),
        ("a..b/.x", ["a..b", ".x"]),
        ("emoji 🎉", ["emoji 🎉"]),
        ("a/\u{301}b", ["a", "\u{301}b"]),
        (String(repeating: "a", count: 255), [String(repeating: "a", count: 255)]),
    ]

    @Test("good paths are accepted and split on '/'", arguments: accepted)
    func accepts(path: String, components: [String]) throws {
        #expect(try PathRules.validatedComponents(of: path) == components)
        let relative = try RelativePath(validating: path)
        #expect(relative.string.utf8.elementsEqual(path.utf8))
        #expect(relative.topLevel == components[0])
    }

    @Test("a top-level 'a:b' is a drive prefix; below the top level it is a plain name")
    func drivePrefixOnlyOnFirstComponent() throws {
        #expect(throws: PathError.driveLetter("a:b")) { try PathRules.validatedComponents(of: "a:b") }
        #expect(try PathRules.validatedComponents(of: "top/C:x") == ["top", "C:x"])
    }

    @Test("limits are inclusive: 128 components and exactly 4096 bytes pass")
    func limitsInclusive() throws {
        let deep = Array(repeating: "d", count: 128).joined(separator: "/")
        #expect(try PathRules.validatedComponents(of: deep).count == 128)
        let long = Array(repeating: Self.component240, count: 17).joined(separator: "/")
        #expect(long.utf8.count == 4096)
        #expect(try PathRules.validatedComponents(of: long).count == 17)
    }

    static let invalidUTF8: [[UInt8]] = [
        [0xFF],
        [0x61, 0x80],
        [0xC0, 0xAF],             // overlong "/"
        [0xED, 0xA0, 0x80],       // UTF-16 surrogate
        [0xF4, 0x90, 0x80, 0x80], // above U+10FFFF
        [0x61, 0xE2, 0x82],       // truncated sequence
    ]

    @Test("8. invalid UTF-8 is rejected before any other rule", arguments: invalidUTF8)
    func rejectsInvalidUTF8(bytes: [UInt8]) {
        #expect(throws: PathError.invalidUTF8(escaped: DisplayEscape.escape(bytes: bytes))) {
            try PathRules.validatedComponents(ofUTF8: bytes)
        }
    }

    @Test("valid UTF-8 bytes go through the same rules")
    func utf8Bytes() throws {
        #expect(try PathRules.validatedComponents(ofUTF8: Array("été/x".utf8)) == ["été", "x"])
        #expect(throws: PathError.dotComponent("../x")) {
            try PathRules.validatedComponents(ofUTF8: Array("../x".utf8))
        }
        #expect(throws: PathError.pathTooLong(bytes: 5000)) {
            try PathRules.validatedComponents(ofUTF8: [UInt8](repeating: 0xFF, count: 5000))
        }
    }

    @Test("components given one by one may not hide a '/'")
    func componentsWithSlash() throws {
        #expect(throws: PathError.separatorInComponent("a/b")) { try RelativePath(validatingComponents: ["a/b"]) }
        #expect(throws: PathError.separatorInComponent("../x")) {
            try RelativePath(validating: "top").replacingTopLevel(with: "../x")
        }
        #expect(throws: PathError.dotComponent("top/..")) { try RelativePath(validating: "top").appending("..") }
        #expect(try RelativePath(validatingComponents: ["a", "b"]).string == "a/b")
        #expect(throws: PathError.separatorInComponent("x/y")) { try PathRules.validateName("x/y") }
    }

    @Test("8. NFC and NFD spellings are equal paths but keep their own bytes")
    func normalizationForms() throws {
        let nfc = try RelativePath(validating: "caf\u{E9}")
        let nfd = try RelativePath(validating: "cafe\u{301}")
        #expect(nfc == nfd)
        #expect(nfc.hashValue == nfd.hashValue)
        #expect(!nfc.string.utf8.elementsEqual(nfd.string.utf8))
    }

    /// Plain ASCII skips the scalar loop (`PathRules.isPlainASCII`); these are its edges.
    @Test("every ASCII character: controls, DEL and backslash are refused, the rest pass, with or without other text")
    func everyASCIICharacter() throws {
        for value in UInt8(0)...UInt8(0x7F) where value != UInt8(ascii: "/") && value != UInt8(ascii: ".") {
            let character = String(UnicodeScalar(value))
            for text in ["dir/a\(character)b", "\(character)x", "d\u{E9}j\u{E0}/a\(character)b"] {
                let expected: PathError? = switch value {
                case 0: .nul(text)
                case 0x01...0x1F, 0x7F: .controlCharacter(text)
                case UInt8(ascii: "\\"): .backslash(text)
                default: nil
                }
                if let expected {
                    #expect(throws: expected) { try PathRules.validatedComponents(of: text) }
                    #expect(!PathRules.isPlainASCII(text, backslash: true))
                } else {
                    #expect(try PathRules.validatedComponents(of: text).joined(separator: "/") == text)
                }
            }
        }
        #expect(PathRules.isPlainASCII("a\\b", backslash: false))
        #expect(!PathRules.isPlainASCII("a\\b", backslash: true))
        #expect(!PathRules.isPlainASCII("caf\u{E9}", backslash: true))
        #expect(PathRules.isPlainASCII(" ~", backslash: true))
    }

    @Test("error messages never carry raw control characters")
    func messagesAreEscaped() {
        let error = PathError.controlCharacter("\u{1B}[2J\u{202E}x")
        #expect(!error.description.unicodeScalars.contains { PathRules.isControl($0) || PathRules.isBidiControl($0) })
        #expect(error.description.contains("\\x1B[2J\\u{202E}x"))
    }
}
