import Foundation
import PeershareTransfer

/// Where the agent keeps its state, following the XDG base directory rules, or entirely
/// under one directory when `PEERSHARE_HOME` (or `--home`) is set, so that several agents
/// can run side by side as one user (the integration tests rely on this).
public struct StatePaths: Sendable, Equatable {
    /// Holds `config.toml`.
    public let configDirectory: String
    /// Holds the identity key, the pins and partial transfers.
    public let stateDirectory: String
    /// Holds the control socket (directory mode 0700).
    public let runtimeDirectory: String
    /// Where received files go unless `--inbox` says otherwise.
    public let defaultInbox: String

    public var identityFile: String { stateDirectory + "/identity.key" }
    public var trustFile: String { stateDirectory + "/trusted.json" }
    public var controlSocket: String { runtimeDirectory + "/control.sock" }
    public var configFile: String { configDirectory + "/config.toml" }

    /// Resolves the directories. `home` wins over `PEERSHARE_HOME`, which wins over XDG.
    public static func resolve(home: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> StatePaths {
        let userHome = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        let downloads = Self.downloadDirectory(environment: environment, userHome: userHome)
        if let root = home ?? environment["PEERSHARE_HOME"].flatMap({ $0.isEmpty ? nil : $0 }) {
            let absolute = Self.absolute(root)
            return StatePaths(
                configDirectory: absolute + "/config",
                stateDirectory: absolute + "/state",
                runtimeDirectory: absolute + "/run",
                defaultInbox: downloads + "/peershare")
        }
        func xdg(_ key: String, _ fallback: String) -> String {
            if let value = environment[key], value.hasPrefix("/") { return value }
            return userHome + "/" + fallback
        }
        let runtime: String
        if let value = environment["XDG_RUNTIME_DIR"], value.hasPrefix("/") {
            runtime = value + "/peershare"
        } else {
            runtime = "/tmp/peershare-\(getuid())"
        }
        return StatePaths(
            configDirectory: xdg("XDG_CONFIG_HOME", ".config") + "/peershare",
            stateDirectory: xdg("XDG_STATE_HOME", ".local/state") + "/peershare",
            runtimeDirectory: runtime,
            defaultInbox: downloads + "/peershare")
    }

    /// `$XDG_DOWNLOAD_DIR` from the environment or from `user-dirs.dirs`, else `~/Downloads`.
    static func downloadDirectory(environment: [String: String], userHome: String) -> String {
        if let value = environment["XDG_DOWNLOAD_DIR"], value.hasPrefix("/") { return value }
        let configHome = environment["XDG_CONFIG_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil } ?? userHome + "/.config"
        if let text = try? String(contentsOfFile: configHome + "/user-dirs.dirs", encoding: .utf8) {
            for line in text.split(separator: "\n") where line.hasPrefix("XDG_DOWNLOAD_DIR=") {
                var value = String(line.dropFirst("XDG_DOWNLOAD_DIR=".count))
                value = value.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                value = value.replacingOccurrences(of: "$HOME", with: userHome)
                if value.hasPrefix("/") { return value }
            }
        }
        return userHome + "/Downloads"
    }

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        return FileManager.default.currentDirectoryPath + "/" + path
    }

    /// Makes sure `path` is a private directory of this user (the state and runtime
    /// directories): creates it (and missing parents) with mode 0700, then opens it without
    /// following a symlink and checks the open directory itself. A directory another user
    /// owns, one that group or others may write to, or a symlink is refused: whoever controls
    /// it could swap the control socket or the state files. One this user owns but others can
    /// read is tightened to 0700 on the open descriptor (never through a path).
    public static func makeDirectory(_ path: String) throws(AgentError) {
        let parent = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(
                atPath: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw AgentError(.io, "Cannot create the directory \(parent): \(error.localizedDescription)", underlying: error)
        }
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw AgentError(.io, "Cannot create the directory \(path): \(String(cString: strerror(errno)))")
        }
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            let reason = errno == ELOOP || errno == ENOTDIR
                ? "it is a symbolic link or not a directory"
                : String(cString: strerror(errno))
            throw AgentError(.security, "Refusing to use \(path): \(reason). Remove it (`rm '\(path)'`) so peershare can create a private directory there.")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw AgentError(.io, "Cannot check the directory \(path): \(String(cString: strerror(errno)))")
        }
        try checkPrivate(info, path: path, expectedUID: geteuid())
        if info.st_mode & 0o7777 != 0o700, fchmod(fd, 0o700) != 0 {
            throw AgentError(.io, "Cannot make \(path) private (mode 700): \(String(cString: strerror(errno)))")
        }
    }

    /// The rule `makeDirectory` applies to the opened directory: owned by `expectedUID`, and
    /// not writable by group or others.
    static func checkPrivate(_ info: stat, path: String, expectedUID: uid_t) throws(AgentError) {
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw AgentError(.security, "Refusing to use \(path): it is not a directory. Move it away.")
        }
        guard info.st_uid == expectedUID else {
            throw AgentError(.security, "Refusing to use \(path): it belongs to uid \(info.st_uid), not to you (uid \(expectedUID)); another user may have made it to take over peershare's control socket or state. Have it removed (by its owner or root), or set XDG_RUNTIME_DIR or PEERSHARE_HOME to a directory of your own.")
        }
        guard info.st_mode & 0o022 == 0 else {
            throw AgentError(.security, "Refusing to use \(path): other users may write to it (mode \(String(info.st_mode & 0o7777, radix: 8))). Run: chmod 700 '\(path)'")
        }
    }
}
