import Foundation

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

    /// Creates `path` and its missing parents with mode 0700, and tightens an existing
    /// directory we own to 0700 when `privateDirectory` is set (the runtime directory).
    public static func makeDirectory(_ path: String, privateDirectory: Bool = false) throws(AgentError) {
        do {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            if privateDirectory { chmod(path, 0o700) }
        } catch {
            throw AgentError(.io, "Cannot create the directory \(path): \(error.localizedDescription)", underlying: error)
        }
    }
}
