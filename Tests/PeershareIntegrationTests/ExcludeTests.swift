import Foundation
import Glibc
import Testing

/// `send --exclude PATTERN`: what matches is neither sent nor counted as left out, and an
/// excluded folder is never opened.
extension EndToEnd {
    @Test("send --exclude '*.tmp' --exclude .git --exclude node_modules/ --exclude locked: only the rest arrives, no warning, exit 0; an excluded folder is not read")
    func excludePatterns() async throws {
        let scratch = try Self.scratch("exclude")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/proj"
        let tree = try TreeBuilder(source)
        try tree.file("a.txt", text: "keep\n")
        try tree.file("b.tmp", text: "drop\n")
        try tree.directory(".git")
        try tree.file(".git/config", text: "drop\n")
        try tree.directory("lib")
        try tree.file("lib/c.tmp", text: "drop\n")
        try tree.file("lib/d.txt", text: "keep\n")
        try tree.file("lib/node_modules", text: "a file, not a folder: kept\n")
        try tree.directory("node_modules")
        try tree.directory("node_modules/x")
        try tree.file("node_modules/x/y.js", text: "drop\n")
        try tree.directory("locked", mode: 0o000)
        try tree.finish()
        // Listing node_modules would meet this FIFO and warn (exit 12): the exit 0 and the
        // missing warnings below show that the excluded folders were not read.
        #expect(mkfifo(source + "/node_modules/x/pipe", 0o644) == 0)
        let expected = ["a.txt", "lib/d.txt", "lib/node_modules"]

        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "otto", in: scratch.root)
        let options = ["--exclude", "*.tmp", "--exclude", ".git", "--exclude", "node_modules/", "--exclude", "locked"]
        let result = try await finishWithCode(try sender.startSend([source], to: receiver.address, options: options), on: receiver)
        #expect(result.exited(0), "\(result)")
        #expect(result.events("warning").isEmpty, "\(result.stdout)")
        let done = try #require(result.events("done").last, "\(result.stdout)")
        #expect(done.files == UInt64(expected.count) && done.leftOut == nil, "\(result.stdout)")
        #expect(done.bytes == UInt64("keep\n".utf8.count * 2 + "a file, not a folder: kept\n".utf8.count), "\(result.stdout)")
        #expect(Self.regularFiles(under: receiver.inbox + "/proj") == expected, "\(receiver.transcript)")
        #expect(Set(directoryNames(receiver.inbox + "/proj")) == ["a.txt", "lib"])

        // Through the sender's running agent, a path pattern below the folder: the same rule.
        let agent = try await AgentProcess.start(name: "otto2", in: scratch.root)
        defer { agent.stop() }
        let viaAgent = try await finishWithCode(
            try RunningCommand(["send", source, "--to", receiver.address, "--home", agent.home, "--json",
                                "--exclude", "lib/*", "--exclude", "node_modules", "--exclude", "locked/", "--exclude", ".git"]),
            on: receiver)
        #expect(viaAgent.exited(0), "\(viaAgent)")
        #expect(viaAgent.events("done").last?.files == 2, "\(viaAgent.stdout)")
        #expect(Self.regularFiles(under: receiver.inbox + "/proj (2)") == ["a.txt", "b.tmp"], "\(receiver.transcript)")
    }

    /// The regular files below `root`, as sorted relative paths.
    static func regularFiles(under root: String) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
        return walker.compactMap { item -> String? in
            guard let relative = item as? String else { return nil }
            var info = stat()
            return lstat(root + "/" + relative, &info) == 0 && info.st_mode & S_IFMT == S_IFREG ? relative : nil
        }.sorted()
    }
}
