import Foundation
import Testing

/// `on_receive`: a program run by the agent after a confirmed receive.
extension EndToEnd {
    /// Writes `receiverHome/config/config.toml` with `text`.
    static func writeConfig(home: String, _ text: String) throws {
        try FileManager.default.createDirectory(atPath: home + "/config", withIntermediateDirectories: true)
        try text.write(toFile: home + "/config/config.toml", atomically: true, encoding: .utf8)
    }

    /// An executable shell script at `path`.
    static func writeScript(_ path: String, _ body: String) throws {
        try ("#!/bin/sh\n" + body).write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
    }

    @Test("on_receive: runs once per confirmed receive (not for a declined offer) with its argv, the inbox as cwd and a JSON document on stdin; its first lines and status are logged; file names never reach a command line")
    func receiveHookRuns() async throws {
        let scratch = try Self.scratch("hook")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/docs"
        try StandardTree.buildSmall(at: source)
        try "x".write(toFile: source + "/$(touch PWNED); `touch PWNED2` 'q'.txt", atomically: true, encoding: .utf8)
        let log = scratch.root + "/hook-log"
        let script = scratch.root + "/hook.sh"
        try Self.writeScript(script, """
            printf 'argc=%s arg1=%s cwd=%s\\n' "$#" "$1" "$(pwd)" >> "$1.meta"
            cat >> "$1.jsonl"
            echo "hook saw it"
            echo "to stderr" >&2
            """)
        let home = scratch.root + "/recv.home"
        try Self.writeConfig(home: home, "on_receive = [\"\(script)\", \"\(log)\"]\n")
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "nina", in: scratch.root)
        let senderFingerprint = try await sender.fingerprint()

        try await declineThenPair(sender, source, receiver)

        let ran = try await poll(timeout: .seconds(15)) { receiver.errors.contains("on_receive exited with status 0") ? true : nil }
        #expect(ran == true, "\(receiver.transcript)")
        #expect(receiver.errors.contains("hook saw it") && receiver.errors.contains("to stderr"), "\(receiver.errors)")
        let meta = RunningCommand.read(log + ".meta")
        #expect(meta == "argc=1 arg1=\(log) cwd=\(receiver.inbox)\n", "one run only (the declined offer ran none): \(meta)")
        let lines = RunningCommand.read(log + ".jsonl").split(separator: "\n")
        #expect(lines.count == 1)
        let document = try #require(lines.first.flatMap { decodeJSON(HookInput.self, String($0)) }, "\(lines)")
        #expect(document.event == "received" && document.peer == "nina" && document.fingerprint == senderFingerprint)
        #expect(document.inbox == receiver.inbox && document.names == ["docs"])
        #expect(document.files.contains(HookInput.File(path: "docs/a.txt", type: "file", size: 13)), "\(document.files)")
        #expect(document.files.contains(HookInput.File(path: "docs/sub", type: "directory", size: nil)), "\(document.files)")
        #expect(document.files.contains { $0.path.hasPrefix("docs/$(touch PWNED)") }, "\(document.files)")
        #expect(document.files.count == 6 && document.filesTruncated == false && document.text == nil)
        for place in [scratch.root, receiver.inbox, receiver.inbox + "/docs"] {
            #expect(!FileManager.default.fileExists(atPath: place + "/PWNED") && !FileManager.default.fileExists(atPath: place + "/PWNED2"))
        }
    }

    @Test("on_receive: a hook that outlives on_receive_timeout is stopped and logged; a failing one is logged with its status; a malformed on_receive is a config error naming the line")
    func receiveHookTimeoutAndErrors() async throws {
        let scratch = try Self.scratch("hook-timeout")
        defer { scratch.remove() }
        let source = try scratch.directory("src") + "/docs"
        try StandardTree.buildSmall(at: source)
        let script = scratch.root + "/slow.sh"
        try Self.writeScript(script, "echo started\nexec sleep 60\n")
        let home = scratch.root + "/recv.home"
        try Self.writeConfig(home: home, "name = \"recv\"\non_receive = \"\(script) --flag\"\n")
        let refused = try await CLI.run(["config", "--home", home])
        #expect(refused.exited(2) && refused.stderr.contains("line 2") && refused.stderr.contains("never through a shell"), "\(refused)")

        try Self.writeConfig(home: home, "on_receive = [\"\(script)\"]\non_receive_timeout = 1\n")
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "olga", in: scratch.root)
        let sent = try await finishWithCode(sender.startSend([source], to: receiver), on: receiver)
        #expect(sent.exited(0), "\(sent)")
        let stopped = try await poll(timeout: .seconds(15)) { receiver.errors.contains("on_receive timed out after 1 s") ? true : nil }
        #expect(stopped == true, "\(receiver.transcript)")
        #expect(receiver.errors.contains("started"), "\(receiver.errors)")
    }
}

/// The receive hook's standard input (the fields the tests check).
struct HookInput: Decodable {
    struct File: Decodable, Equatable {
        var path: String
        var type: String
        var size: UInt64?
    }
    var event: String
    var peer: String
    var fingerprint: String?
    var inbox: String
    var names: [String]
    var files: [File]
    var filesTruncated: Bool
    var bytes: UInt64
    var text: String?
}
