import Foundation
import Testing

/// Packaging/desktop/send-dialog.in, the file managers' "Send with peershare": run as Nemo
/// would run it (the selected paths as arguments), with a stand-in zenity that answers the
/// peer question and records every dialog.
extension EndToEnd {
    @Test("send-dialog: asks for the peer with zenity (none discovered: HOST:PORT), shows the pairing code in a dialog, sends the selected paths (a name with quotes and $(…) too), and says it was confirmed")
    func sendDialog() async throws {
        let scratch = try Self.scratch("dialog")
        defer { scratch.remove() }
        let source = try scratch.directory("src")
        try StandardTree.buildSmall(at: source + "/docs")
        let odd = source + "/it's \"$(touch PWNED)\".txt"
        try "odd\n".write(toFile: odd, atomically: true, encoding: .utf8)
        let receiver = try await AgentProcess.start(name: "recv", in: scratch.root)
        defer { receiver.stop() }

        let bin = try scratch.directory("bin")
        let log = scratch.root + "/dialogs.log"
        try Self.writeScript(bin + "/zenity", """
            printf '%s\\n' "$*" >> '\(log)'
            case "$1" in --entry) echo '\(receiver.address)' ;; esac
            """)
        let template = try String(contentsOfFile: TestEnvironment.sourceRoot + "/Packaging/desktop/send-dialog.in", encoding: .utf8)
        let script = bin + "/send-dialog"
        try Self.writeScript(script, template.replacingOccurrences(of: "#!/bin/sh\n", with: "")
            .replacingOccurrences(of: "@BINDIR@", with: (TestEnvironment.binary as NSString).deletingLastPathComponent))

        let process = Process()
        process.executableURL = URL(fileURLWithPath: script)
        process.arguments = [source + "/docs", odd]
        process.currentDirectoryURL = URL(fileURLWithPath: scratch.root)
        var environment = TestEnvironment.childEnvironment
        environment["PATH"] = bin + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment["PEERSHARE_HOME"] = scratch.root + "/sender.home"
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        let codeLine = try await poll(timeout: .seconds(20)) {
            RunningCommand.read(log).split(separator: "\n").first { $0.contains("Pairing code for \(receiver.address): ") }
        }
        let code = try #require(codeLine.flatMap { $0.split(separator: " ").last.map(String.init) }, "\(RunningCommand.read(log))")
        #expect(try await receiver.accept(code: code).exited(0))
        let ended = try await poll(timeout: .seconds(30)) { process.isRunning ? nil : true }
        #expect(ended == true && process.terminationStatus == 0, "\(RunningCommand.read(log))")
        let dialogs = RunningCommand.read(log)
        #expect(dialogs.contains("--entry --title Send with peershare"), "\(dialogs)")
        #expect(dialogs.contains("Sent to \(receiver.address): the receiver confirmed every file."), "\(dialogs)")
        #expect(receiver.inboxNames() == ["docs", "it's \"$(touch PWNED)\".txt"], "\(receiver.inboxNames())")
        #expect(!FileManager.default.fileExists(atPath: scratch.root + "/PWNED"))
    }
}
