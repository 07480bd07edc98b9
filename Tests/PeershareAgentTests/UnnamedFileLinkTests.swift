import CPeershareSys
import Foundation
import Glibc
import Testing

/// `psys_link_unnamed`, which names every small received file: the name appears only
/// with the whole content, an existing name is never replaced, and on kernels that allow
/// `linkat(AT_EMPTY_PATH)` to an unprivileged opener (Linux 6.10 and later) the cheaper
/// call stays in use instead of the walk through `/proc/self/fd`.
@Suite("Naming a nameless file")
struct UnnamedFileLinkTests {
    /// Opens a nameless file in `directory` holding `text`.
    private func unnamedFile(in directory: String, holding text: String) throws -> Int32 {
        let fd = open(directory, PSYS_O_TMPFILE | O_WRONLY | O_CLOEXEC, 0o644)
        try #require(fd >= 0, "O_TMPFILE: \(String(cString: strerror(errno)))")
        let written = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, text.utf8.count) }
        #expect(written == text.utf8.count)
        return fd
    }

    /// The agent's call, and its fallback through `/proc/self/fd` on its own (kernels
    /// before 6.10 without the capability take it; this machine's never would).
    static let routes: [(String, @Sendable (Int32, Int32, String) -> Int32)] = [
        ("psys_link_unnamed", { psys_link_unnamed($0, $1, $2) }),
        ("through /proc", { psys_link_unnamed_through_proc($0, $1, $2) }),
    ]

    @Test("the name appears with the content; a taken name is refused with EEXIST and kept",
          arguments: 0..<2)
    func linksAndNeverReplaces(route: Int) throws {
        let link = Self.routes[route].1
        try withScratchDirectory { root in
            let dir = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            try #require(dir >= 0)
            defer { close(dir) }
            #expect(try FileManager.default.contentsOfDirectory(atPath: root).isEmpty)

            let first = try unnamedFile(in: root, holding: "first")
            defer { close(first) }
            #expect(try FileManager.default.contentsOfDirectory(atPath: root).isEmpty)
            #expect(link(first, dir, "name") == 0, "\(Self.routes[route].0)")
            #expect(try String(contentsOfFile: root + "/name", encoding: .utf8) == "first")

            let second = try unnamedFile(in: root, holding: "second")
            defer { close(second) }
            let result = link(second, dir, "name")
            let code = errno
            #expect(result == -1 && code == EEXIST, "\(Self.routes[route].0): \(result), errno \(code)")
            #expect(try String(contentsOfFile: root + "/name", encoding: .utf8) == "first")
            #expect(link(second, dir, "other") == 0)
            #expect(try String(contentsOfFile: root + "/other", encoding: .utf8) == "second")
        }
    }

    /// The running kernel's release and whether it is 6.10 or later (where an unprivileged
    /// opener may link with AT_EMPTY_PATH).
    static let kernel: (release: String, atLeast610: Bool) = {
        var names = utsname()
        uname(&names)
        let release = withUnsafeBytes(of: &names.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let numbers = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return (release, numbers.count == 2 && (numbers[0], numbers[1]) >= (6, 10))
    }()

    /// Environmental: on an older kernel the test is skipped with the kernel named in the
    /// run's output, never passed in silence.
    @Test("on Linux 6.10 and later the link uses AT_EMPTY_PATH, not /proc",
          .enabled(if: kernel.atLeast610, Comment(rawValue: "kernel \(kernel.release) is older than 6.10: AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH there")))
    func usesEmptyPathWhereAllowed() throws {
        try withScratchDirectory { root in
            let dir = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            try #require(dir >= 0)
            defer { close(dir) }
            let fd = try unnamedFile(in: root, holding: "x")
            defer { close(fd) }
            #expect(psys_link_unnamed(fd, dir, "x") == 0)
        }
        #expect(psys_link_unnamed_uses_empty_path() == 1, "kernel \(Self.kernel.release)")
    }
}
