import Foundation

/// The desktop session's D-Bus, where notification servers live: `$DBUS_SESSION_BUS_ADDRESS`,
/// else the systemd user bus socket `$XDG_RUNTIME_DIR/bus`; nil outside a session (a
/// service without one, an ssh login, a container), and then nothing is ever sent.
public enum SessionBus {
    public static func address(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let address = environment["DBUS_SESSION_BUS_ADDRESS"], !address.isEmpty { return address }
        guard let runtime = environment["XDG_RUNTIME_DIR"], runtime.hasPrefix("/") else { return nil }
        var info = stat()
        guard lstat(runtime + "/bus", &info) == 0, info.st_mode & S_IFMT == S_IFSOCK else { return nil }
        return "unix:path=" + runtime + "/bus"
    }

    /// The first executable `name` in `$PATH` (then /usr/bin), or nil.
    static func tool(_ name: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        let directories = (environment["PATH"] ?? "").split(separator: ":").map(String.init) + ["/usr/bin"]
        return directories.map { $0 + "/" + name }.first { access($0, X_OK) == 0 }
    }
}
