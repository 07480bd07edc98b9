import Foundation
import Glibc

/// Where the `peershare` binary is and what its child processes see.
enum TestEnvironment {
    /// `$PEERSHARE_BIN` if set (the Makefile sets it), else `<package root>/.build/debug/peershare`,
    /// the package root found from this file's path (`<root>/Tests/PeershareIntegrationTests/`).
    static let binary: String = {
        if let configured = ProcessInfo.processInfo.environment["PEERSHARE_BIN"], !configured.isEmpty {
            return configured
        }
        let packageRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // PeershareIntegrationTests
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // package root
        return packageRoot.appendingPathComponent(".build/debug/peershare").path
    }()

    /// The package's root directory (for files the tests read from the source tree).
    static let sourceRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// True when `binary` is an executable file (tests `#require` it first).
    static var binaryExists: Bool { FileManager.default.isExecutableFile(atPath: binary) }

    /// The environment of every child: ours, less `PEERSHARE_HOME` (each child gets `--home`),
    /// with discovery off: these tests run in the machine's own network namespace, where
    /// no mDNS stack may run (agents also get `--no-discovery`; this covers every other
    /// command, such as a `send` or `peers` that would browse).
    static let childEnvironment: [String: String] = {
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "PEERSHARE_HOME")
        environment["PEERSHARE_DISCOVERY"] = "off"
        return environment
    }()

    /// Where `scripts/test-as-user.sh` mounted the small tmpfs file systems (1m, 4m, 16m) of
    /// the full-disk tests, owned by the test user: mounting needs root, the tests do not run
    /// as root.
    static let smallFileSystems = ProcessInfo.processInfo.environment["PEERSHARE_TEST_SMALLFS"]

    /// Under CI a test that cannot run here fails instead of being skipped.
    static let inCI = ProcessInfo.processInfo.environment["CI"] == "true"

    /// Writing to an agent's stdin after it died must fail with EPIPE, not kill the test
    /// runner: SIGPIPE is ignored once, before the first child is started.
    static let ignoreBrokenPipes: Void = {
        _ = signal(SIGPIPE, SIG_IGN)
    }()
}

/// A test failure in the harness itself (a fixture that cannot be built, a process that
/// cannot be started), with a message that says what and why.
struct HarnessError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) { self.description = description }

    /// An error for a failed system call, with `errno` rendered.
    static func system(_ what: String, _ path: String, errno code: Int32 = errno) -> HarnessError {
        HarnessError("\(what) \(path): \(String(cString: strerror(code))) (errno \(code))")
    }
}

/// One test's temporary directory: `<tmp>/psit-<label>-<random>`, removed by `remove()`
/// (call it in a `defer` right after creating the scratch, so it runs even on failure).
final class Scratch {
    let root: String

    init(_ label: String) throws {
        let suffix = UUID().uuidString.prefix(8).lowercased()
        // Kept short: the agents' control sockets live below it (sun_path holds 108 bytes).
        root = FileManager.default.temporaryDirectory.appendingPathComponent("psit-\(label)-\(suffix)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    /// `root/relative`.
    func path(_ relative: String) -> String { root + "/" + relative }

    /// Creates `root/relative` (and parents) and returns its path.
    @discardableResult
    func directory(_ relative: String) throws -> String {
        let full = path(relative)
        try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
        return full
    }

    /// Removes the whole tree (making directories writable first).
    func remove() { removeTree(root) }
}

/// `chmod u+rwx` on every directory below `path` (no symlink followed), then removes it all.
func removeTree(_ path: String) {
    var info = stat()
    guard lstat(path, &info) == 0 else { return }
    if info.st_mode & S_IFMT == S_IFDIR {
        _ = chmod(path, 0o700)
        if let walker = FileManager.default.enumerator(atPath: path) {
            for case let relative as String in walker {
                let full = path + "/" + relative
                var child = stat()
                if lstat(full, &child) == 0, child.st_mode & S_IFMT == S_IFDIR {
                    _ = chmod(full, 0o700)
                }
            }
        }
    }
    try? FileManager.default.removeItem(atPath: path)
}

/// Polls `condition` every `interval` until it returns a value or `timeout` has passed;
/// nil on timeout. Used instead of fixed sleeps everywhere.
func poll<T>(timeout: Duration, interval: Duration = .milliseconds(25),
             _ condition: () async throws -> T?) async throws -> T? {
    let deadline = ContinuousClock.now + timeout
    while true {
        if let value = try await condition() { return value }
        if ContinuousClock.now >= deadline { return nil }
        try await Task.sleep(for: interval)
    }
}

extension Duration {
    /// The duration in seconds, as a Double (for messages and comparisons).
    var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}
