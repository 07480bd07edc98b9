import Foundation
import Testing

/// Entries that cannot cross the wire (names the protocol refuses, FIFOs) are never dropped
/// in silence: each is a warning that shows its path once, the last line and the `done`
/// event count them, and the send exits 12 unless the person passed `--skip-unsendable`.
extension EndToEnd {
    /// Legal Linux names the protocol's path rules refuse, beside two ordinary files.
    static func unsendableTree(in scratch: Scratch) throws -> String {
        let source = try scratch.directory("src") + "/Fotos"
        let tree = try TreeBuilder(source)
        try tree.file("ok.txt", text: "fine\n")
        try tree.file("also ok.txt", text: "fine too\n")
        try tree.file("tab\there.txt", text: "tab\n")
        try tree.file("new\nline.txt", text: "newline\n")
        try tree.file("back\\slash.txt", text: "backslash\n")
        try tree.file("esc\u{1B}[31m.txt", text: "escape\n")
        try tree.finish()
        // A Latin-1 "é": a byte that is not valid UTF-8 where it stands.
        try Fixture.file(Array((source + "/latin1-").utf8) + [0xE9] + Array(".txt".utf8), Array("latin1\n".utf8))
        return source
    }

    @Test("Five unsendable names beside two files: the two arrive, each name is warned about once, exit 12, and --skip-unsendable makes it 0")
    func unsendableEntriesAreCountedAndFail() async throws {
        let scratch = try Self.scratch("leftout")
        defer { scratch.remove() }
        let source = try Self.unsendableTree(in: scratch)
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "sam", in: scratch.root)

        let first = try await finishWithCode(try sender.startSend([source], to: receiver), on: receiver)
        #expect(first.exited(12), "left-out entries must not end in success: \(first)")
        #expect(first.events("warning").count == 5, "\(first.stdout)")
        #expect(first.events("done").last?.leftOut == 5, "\(first.stdout)")
        #expect(first.events("done").last?.files == 2, "\(first.stdout)")
        #expect(Set(directoryNames(receiver.inbox + "/Fotos")) == ["ok.txt", "also ok.txt"])
        for warning in first.events("warning") {
            let text = warning.message ?? ""
            #expect(text.components(separatedBy: "Fotos/").count == 2, "the path is shown once: \(text)")
        }

        // Paired now: the second send needs no code. Text output this time, as a person sees it.
        let second = try await sender.startSend([source], to: receiver.address, options: ["--skip-unsendable"], json: false)
            .wait(timeout: .seconds(30))
        #expect(second.exited(0), "--skip-unsendable accepts the left-out entries: \(second)")
        #expect(second.stdout.contains("Left out: 5 entries that cannot be sent"), "\(second)")
        #expect(second.stderr.components(separatedBy: "warning: skipped").count == 6, "\(second)")

        let quiet = try await sender.startSend([source], to: receiver.address, options: ["-q"], json: false)
            .wait(timeout: .seconds(30))
        #expect(quiet.exited(12), "\(quiet)")
        #expect(!quiet.stderr.contains("warning:"), "-q prints no warnings: \(quiet)")
        #expect(quiet.stderr.contains("5 entries were left out"), "but says what went wrong: \(quiet)")
    }
}

extension EndToEnd {
    /// Root reads everything, so this runs only as an ordinary user, as CI runs it
    /// (scripts/test-as-user.sh); a developer's root run says why it skipped.
    @Test("An unreadable file and an unreadable folder are left out with a warning each, like a FIFO; the rest arrives; exit 12",
          .enabled(if: getuid() != 0 || TestEnvironment.inCI, "root reads every file: run through scripts/test-as-user.sh"))
    func unreadableEntriesAreLeftOut() async throws {
        let scratch = try Self.scratch("unreadable")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/share"
        let tree = try TreeBuilder(source)
        try tree.file("readable.txt", text: "fine\n")
        try tree.file("secret.txt", text: "locked\n", mode: 0o000)
        try tree.directory("locked", mode: 0o000)
        try tree.directory("open")
        try tree.file("open/inner.txt", text: "inner\n")
        try tree.finish()
        #expect(mkfifo(source + "/pipe", 0o644) == 0)

        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "ulla", in: scratch.root)
        let result = try await finishWithCode(try sender.startSend([source], to: receiver), on: receiver)
        #expect(result.exited(12), "\(result)")
        let warnings = result.events("warning").compactMap(\.message)
        #expect(warnings.count == 3, "\(warnings)")
        #expect(warnings.contains { $0.contains("secret.txt") && $0.contains("permission denied") }, "\(warnings)")
        #expect(warnings.contains { $0.contains("locked/") && $0.contains("permission denied") }, "\(warnings)")
        #expect(warnings.contains { $0.contains("pipe") && $0.contains("FIFO") }, "\(warnings)")
        #expect(result.events("done").last?.leftOut == 3, "\(result.stdout)")
        #expect(Set(directoryNames(receiver.inbox + "/share")) == ["readable.txt", "open"])
        #expect(directoryNames(receiver.inbox + "/share/open") == ["inner.txt"])
    }
}
