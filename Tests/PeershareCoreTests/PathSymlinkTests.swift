import Testing
@testable import PeershareCore

/// hostile-inputs.md item 14: symlinks are recreated only when relative and inside the tree.
@Suite("Symlink targets")
struct PathSymlinkTests {
    static let accepted: [(target: String, link: String)] = [
        ("../b", "top/a/l"),
        ("sub/x", "top/a/l"),
        ("b", "top/a/l"),
        ("..", "top/a/l"),
        ("../../c/d", "top/a/b/l"),
        ("x", "top/l"),
        ("CON/été", "top/l"),
    ]

    @Test("relative targets that stay inside the top-level directory are accepted", arguments: accepted)
    func accepts(target: String, link: String) throws {
        try PathRules.validateSymlinkTarget(target, linkPath: RelativePath(validating: link))
    }

    static let rejected: [(target: String, link: String, error: PathError)] = [
        ("../../x", "top/a/l", .symlinkEscapes("../../x")),
        ("../x", "top/l", .symlinkEscapes("../x")),
        ("../../../etc", "top/a/b/l", .symlinkEscapes("../../../etc")),
        ("/etc/passwd", "top/a/l", .symlinkAbsolute("/etc/passwd")),
        ("//srv", "top/a/l", .symlinkAbsolute("//srv")),
        ("a/../../x", "top/a/l", .symlinkMalformed("a/../../x")),
        ("a/..", "top/a/l", .symlinkMalformed("a/..")),
        ("./x", "top/a/l", .symlinkMalformed("./x")),
        ("a/./b", "top/a/l", .symlinkMalformed("a/./b")),
        ("a//b", "top/a/l", .symlinkMalformed("a//b")),
        ("a/", "top/a/l", .symlinkMalformed("a/")),
        ("", "top/a/l", .empty),
        ("x", "l", .symlinkTopLevel("l")),
        ("l", "l", .symlinkTopLevel("l")),
        ("a\u{0}", "top/l", .nul("a\u{0}")),
        ("\u{1B}[1A", "top/l", .controlCharacter("\u{1B}[1A")),
        ("x\u{202E}", "top/l", .bidiControl("x\u{202E}")),
        ("..\\x", "top/a/l", .backslash("..\\x")),
        ("b.", "top/a/l", .trailingDotOrSpace("b.")),
        (String(repeating: "a", count: 4097), "top/a/l", .pathTooLong(bytes: 4097)),
    ]

    @Test("absolute, escaping, malformed and top-level links are rejected", arguments: rejected)
    func rejects(target: String, link: String, error: PathError) throws {
        let linkPath = try RelativePath(validating: link)
        #expect(throws: error) { try PathRules.validateSymlinkTarget(target, linkPath: linkPath) }
    }
}
