import Foundation
import Glibc
import Testing

/// `send -`, `send --text` and `send --clipboard`: what is not a file on disk goes as one file,
/// staged in a private temporary folder that is removed afterwards.
extension EndToEnd {
    /// Starts `send ARGUMENTS` with `bytes` on its standard input.
    func sendWithInput(_ arguments: [String], _ bytes: [UInt8], environment: [String: String?] = [:]) throws -> RunningCommand {
        let input = Pipe()
        let send = try RunningCommand(["send"] + arguments, input: input, environment: environment)
        let writer = input.fileHandleForWriting
        writer.write(Data(bytes))
        try writer.close()
        return send
    }

    @Test("send -: short UTF-8 goes as message.txt (first time with the pairing code), non-UTF-8 as stdin.bin, longer UTF-8 as stdin.txt, --name names it, --text as message.txt; the staging folders are gone afterwards")
    func sendStandardInputAndText() async throws {
        let scratch = try Self.scratch("stdin")
        defer { scratch.remove() }
        let bob = try await AgentProcess.start(name: "bob", in: scratch.root)
        defer { bob.stop() }
        let sender = try SenderHome(name: "vic", in: scratch.root)
        let staging = try scratch.directory("tmp")
        let base = ["--to", bob.address, "--home", sender.home, "--json"]
        let environment: [String: String?] = ["TMPDIR": staging]

        let text = "héllo\nworld\n"
        let first = try sendWithInput(["-"] + base, Array(text.utf8), environment: environment)
        #expect(try await finishWithCode(first, on: bob).exited(0))
        #expect(try String(contentsOfFile: bob.inbox + "/message.txt", encoding: .utf8) == text)

        var binary = [UInt8](repeating: 0xFF, count: 3)
        binary += (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let second = try await sendWithInput(["-"] + base, binary, environment: environment).wait(timeout: .seconds(60))
        #expect(second.exited(0), "\(second)")
        #expect(FileManager.default.contents(atPath: bob.inbox + "/stdin.bin") == Data(binary))

        // Over 64 KiB of UTF-8 whose 2-, 3- and 4-byte characters straddle the reads: a file, named as text.
        let long = "ab" + String(repeating: "aé€😀", count: 8_000)  // byte 65535 is the first of a €
        let third = try await sendWithInput(["-"] + base, Array(long.utf8), environment: environment).wait(timeout: .seconds(60))
        #expect(third.exited(0), "\(third)")
        #expect(try String(contentsOfFile: bob.inbox + "/stdin.txt", encoding: .utf8) == long)

        let named = try await sendWithInput(["-", "--name", "notes.md"] + base, Array("# short\n".utf8), environment: environment).wait(timeout: .seconds(60))
        #expect(named.exited(0), "\(named)")
        #expect(try String(contentsOfFile: bob.inbox + "/notes.md", encoding: .utf8) == "# short\n")

        let given = try await CLI.run(["send", "--text", "from the command line"] + base, timeout: .seconds(60), environment: environment)
        #expect(given.exited(0), "\(given)")
        #expect(try String(contentsOfFile: bob.inbox + "/message (2).txt", encoding: .utf8) == "from the command line")
        #expect(directoryNames(staging).isEmpty, "\(directoryNames(staging))")
    }

    @Test("send - through a running agent: the agent reads the staged copy; the staging folder is gone once the send ends")
    func sendStandardInputThroughAgent() async throws {
        let scratch = try Self.scratch("stdin-agent")
        defer { scratch.remove() }
        let alice = try await AgentProcess.start(name: "alice", in: scratch.root)
        defer { alice.stop() }
        let bob = try await AgentProcess.start(name: "bob", in: scratch.root)
        defer { bob.stop() }
        let staging = try scratch.directory("tmp")
        let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 % 251) }

        let send = try sendWithInput(["-", "--name", "dump.raw", "--to", bob.address, "--home", alice.home, "--json"], bytes,
                                     environment: ["TMPDIR": staging])
        // The offer comes from "alice", the agent's name: the agent sent it, not a send of its own.
        #expect(try await finishWithCode(send, on: bob, peer: "alice").exited(0))
        #expect(FileManager.default.contents(atPath: bob.inbox + "/dump.raw") == Data(bytes))
        #expect(directoryNames(staging).isEmpty, "\(directoryNames(staging))")
    }

    @Test("send --clipboard: read through wl-paste under Wayland (a stand-in on PATH); without a session or without the tool, a clear usage error (exit 2)")
    func sendClipboard() async throws {
        let scratch = try Self.scratch("clipboard")
        defer { scratch.remove() }
        let bob = try await AgentProcess.start(name: "bob", in: scratch.root)
        defer { bob.stop() }
        let sender = try SenderHome(name: "vic", in: scratch.root)
        let bin = try scratch.directory("bin")
        try Self.writeScript(bin + "/wl-paste", "[ \"$1\" = --no-newline ] || exit 7\nprintf 'copied text'\n")
        let base = ["send", "--clipboard", "--to", bob.address, "--home", sender.home, "--json"]

        let send = try RunningCommand(base, environment: ["PATH": bin, "WAYLAND_DISPLAY": "wayland-9", "DISPLAY": nil])
        #expect(try await finishWithCode(send, on: bob).exited(0))
        #expect(try String(contentsOfFile: bob.inbox + "/message.txt", encoding: .utf8) == "copied text")

        let noSession = try await CLI.run(base, environment: ["PATH": bin, "WAYLAND_DISPLAY": nil, "DISPLAY": nil])
        #expect(noSession.exited(2) && noSession.stdout.contains("no graphical session"), "\(noSession)")
        let noTool = try await CLI.run(base, environment: ["PATH": bin, "WAYLAND_DISPLAY": nil, "DISPLAY": ":9"])
        #expect(noTool.exited(2) && noTool.stdout.contains("xclip is not installed"), "\(noTool)")
        #expect(bob.inboxNames() == ["message.txt"])
    }

    @Test("send input usage: one kind of input, '-' alone, --name one file name, empty input refused (exit 2 each)")
    func sendInputUsage() async throws {
        let scratch = try Self.scratch("stdin-usage")
        defer { scratch.remove() }
        let home = ["--to", "127.0.0.1:1", "--home", scratch.path("home")]
        for arguments in [["-", scratch.root], ["--text", "a", "--clipboard"], [scratch.root, "--text", "a"], [],
                          ["-", "--name", "a/b"], ["--text", "a", "--name", ".."]] {
            let result = try await CLI.run(["send"] + arguments + home)
            #expect(result.exited(2), "\(result)")
        }
        let empty = try await CLI.run(["send", "-", "--json"] + home)
        #expect(empty.exited(2) && empty.stdout.contains("Standard input is empty"), "\(empty)")
    }
}
