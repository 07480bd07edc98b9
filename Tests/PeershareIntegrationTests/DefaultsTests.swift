import Foundation
import Testing

/// What a person gets with no `--home`, `--name` or `--inbox`: the XDG directories under their
/// HOME, the host name as the agent's name, `~/Downloads/peershare` as the inbox, and CLI
/// commands that find the agent by the same rules. Every other test passes `--home`.
extension EndToEnd {
    @Test("With no --home, --name or --inbox: XDG state, the host name, ~/Downloads/peershare, and a private control socket")
    func defaultsUnderAThrowawayHome() async throws {
        let scratch = try Self.scratch("defaults")
        defer { scratch.remove() }
        let home = try scratch.directory("user")
        let runtime = try scratch.directory("user/run")
        #expect(chmod(runtime, 0o700) == 0)
        let environment: [String: String?] = [
            "HOME": home, "XDG_RUNTIME_DIR": runtime, "XDG_CONFIG_HOME": nil, "XDG_STATE_HOME": nil,
            "XDG_DOWNLOAD_DIR": nil, "PEERSHARE_HOME": nil,
        ]
        try await Self.runWithDefaults(environment: environment, home: home, socketDirectory: runtime + "/peershare",
                                       scratch: scratch)
    }

    /// Without XDG_RUNTIME_DIR (a login without systemd, a cron job) the control socket goes to
    /// `/tmp/peershare-UID`, made private by the agent. A directory by that name that the test
    /// did not find is removed afterwards; one already there is left as it was.
    @Test("Without XDG_RUNTIME_DIR: the control socket in a private /tmp/peershare-UID, found by the CLI, and a send arrives")
    func runtimeDirectoryFallback() async throws {
        let scratch = try Self.scratch("fallback")
        defer { scratch.remove() }
        let home = try scratch.directory("user")
        let fallback = "/tmp/peershare-\(getuid())"
        var before = stat()
        let existed = lstat(fallback, &before) == 0
        defer { if !existed { try? FileManager.default.removeItem(atPath: fallback) } }
        let environment: [String: String?] = [
            "HOME": home, "XDG_RUNTIME_DIR": nil, "XDG_CONFIG_HOME": nil, "XDG_STATE_HOME": nil,
            "XDG_DOWNLOAD_DIR": nil, "PEERSHARE_HOME": nil,
        ]
        try await Self.runWithDefaults(environment: environment, home: home, socketDirectory: fallback, scratch: scratch)
    }

    /// Starts `peershare run` with only `environment` to go by (loopback, discovery off),
    /// checks the defaults it chose (name, identity, a 0700 socket directory holding a 0600
    /// socket, all this user's), pairs a sender with it through `accept` by the same rules,
    /// checks the file arrived in ~/Downloads/peershare, and stops it with SIGTERM.
    static func runWithDefaults(environment: [String: String?], home: String, socketDirectory: String,
                                scratch: Scratch) async throws {
        let agent = try RunningCommand(["run", "--port", "0", "--listen", "127.0.0.1", "--no-discovery"],
                                       environment: environment)
        defer { agent.send(signal: SIGKILL) }
        var status: AgentStatus?
        for _ in 0..<200 where status == nil {
            let result = try await CLI.run(["status", "--json"], environment: environment)
            status = result.exited(0) ? decodeJSON(AgentStatus.self, result.stdout) : nil
            if status == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        let running = try #require(status, "the agent never answered `status` by the default rules:\n\(agent.currentStderr)")
        let hostName = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? ""
        #expect(running.name == hostName, "the default name is the short host name")

        var identity = stat()
        #expect(lstat(home + "/.local/state/peershare/identity.key", &identity) == 0, "identity under XDG_STATE_HOME's default")
        #expect(identity.st_mode & 0o777 == 0o600)
        var directory = stat()
        #expect(lstat(socketDirectory, &directory) == 0, "no control socket directory at \(socketDirectory)")
        #expect(directory.st_mode & S_IFMT == S_IFDIR && directory.st_mode & 0o777 == 0o700,
                "the control socket's directory is private: mode \(String(directory.st_mode & 0o7777, radix: 8))")
        #expect(directory.st_uid == getuid())
        var socket = stat()
        #expect(lstat(socketDirectory + "/control.sock", &socket) == 0, "no control.sock in \(socketDirectory)")
        #expect(socket.st_mode & S_IFMT == S_IFSOCK && socket.st_mode & 0o777 == 0o600,
                "the control socket is this user's alone: mode \(String(socket.st_mode & 0o7777, radix: 8))")
        #expect(socket.st_uid == getuid())

        let file = scratch.path("hello.txt")
        try Fixture.file(file, text: "hello defaults\n")
        let send = try SenderHome(name: "sender", in: scratch.root).startSend([file], to: "127.0.0.1:\(running.port)")
        let code = try await pairingCode(of: send)
        var accepted: CommandResult?
        for _ in 0..<100 {
            let result = try await CLI.run(["accept", code], environment: environment)
            if result.exited(0) { accepted = result; break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(accepted != nil, "accept by the default rules failed")
        let sent = try await send.wait(timeout: .seconds(30))
        #expect(sent.exited(0), "\(sent)")
        let arrived = try? String(contentsOfFile: home + "/Downloads/peershare/hello.txt", encoding: .utf8)
        #expect(arrived == "hello defaults\n")
        agent.send(signal: SIGTERM)
        let ended = try await agent.wait(timeout: .seconds(10))
        #expect(ended.exited(0), "the agent stops cleanly on SIGTERM: \(ended)")
        #expect(lstat(socketDirectory + "/control.sock", &socket) != 0, "the agent left its control socket behind")
    }
}
