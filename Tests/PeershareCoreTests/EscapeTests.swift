import Testing
@testable import PeershareCore

/// hostile-inputs.md item 4: names are escaped wherever they are displayed or logged.
@Suite("DisplayEscape")
struct EscapeTests {
    static let cases: [(input: String, expected: String)] = [
        ("\u{1B}[1A\r", "\\x1B[1A\\x0D"),
        ("\u{1B}]0;title\u{07}", "\\x1B]0;title\\x07"),
        ("a\nb\r\n", "a\\x0Ab\\x0D\\x0A"),
        ("gpj\u{202E}.exe", "gpj\\u{202E}.exe"),
        ("\u{200F}\u{2066}\u{061C}", "\\u{200F}\\u{2066}\\u{061C}"),
        ("a\\b", "a\\\\b"),
        ("\u{7F}\u{85}\u{9B}", "\\x7F\\x85\\x9B"),
        ("\u{0}", "\\x00"),
        ("Fotos/été 2024 日本語 🎉 e\u{301}", "Fotos/été 2024 日本語 🎉 e\u{301}"),
        ("<>:\"|?*", "<>:\"|?*"),
    ]

    @Test("controls, bidi controls and backslash are escaped; other text is unchanged", arguments: cases)
    func escape(input: String, expected: String) {
        #expect(DisplayEscape.escape(input) == expected)
    }

    static let byteCases: [(input: [UInt8], expected: String)] = [
        ([0x61, 0xFF, 0x62], "a\\xFFb"),
        ([0xC3, 0xA9], "é"),
        ([0xC3], "\\xC3"),
        ([0xC0, 0xAF], "\\xC0\\xAF"),
        ([0xED, 0xA0, 0x80], "\\xED\\xA0\\x80"),
        ([0x1B, 0x5B, 0x32, 0x4A], "\\x1B[2J"),
        ([0xE2, 0x80, 0xAE], "\\u{202E}"),
        ([], ""),
    ]

    @Test("invalid UTF-8 bytes become \\xNN, one per bad byte", arguments: byteCases)
    func escapeBytes(input: [UInt8], expected: String) {
        #expect(DisplayEscape.escape(bytes: input) == expected)
    }

    @Test("no output of escape(bytes:) contains a control or bidi scalar")
    func neverEmitsControls() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<2000 {
            let bytes = (0..<Int(rng.next() % 24)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let shown = DisplayEscape.escape(bytes: bytes)
            #expect(!shown.unicodeScalars.contains { PathRules.isControl($0) || PathRules.isBidiControl($0) })
        }
    }
}
