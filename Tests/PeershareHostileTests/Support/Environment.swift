import Foundation
import Glibc

/// Where the `peershare` binary is, and small file-system helpers shared by the hostile tests.
enum HostileEnvironment {
    /// `$PEERSHARE_BIN` if set, else `<package root>/.build/debug/peershare`, the package root
    /// found from this file's path (`<root>/Tests/PeershareHostileTests/Support/`).
    static let binary: String = {
        if let configured = ProcessInfo.processInfo.environment["PEERSHARE_BIN"], !configured.isEmpty {
            return configured
        }
        let packageRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // Support
            .deletingLastPathComponent()  // PeershareHostileTests
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // package root
        return packageRoot.appendingPathComponent(".build/debug/peershare").path
    }()

    static var binaryExists: Bool { FileManager.default.isExecutableFile(atPath: binary) }

    /// A fresh private directory `/tmp/psh-<tag>-XXXXXX` (short: the agent's control socket
    /// path must fit in `sun_path`).
    static func makeTemporaryDirectory(tag: String) throws -> String {
        var template = Array("/tmp/psh-\(tag)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let base = buffer.baseAddress else { return false }
            return mkdtemp(base) != nil
        }
        guard made else { throw HarnessError("mkdtemp failed: \(String(cString: strerror(errno)))") }
        return template.withUnsafeBufferPointer { buffer in
            String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}

/// Sleeps for `duration`; false when the task was cancelled (a time limit), so that polling
/// loops stop instead of spinning.
func pause(_ duration: Duration) async -> Bool {
    do {
        try await Task.sleep(for: duration)
        return true
    } catch {
        return false
    }
}

/// A failure of the test harness itself (not of the product).
struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Removes `path` and everything below it without following symlinks (by descriptors, so
/// trees deeper than `PATH_MAX` go too); directories made unreadable are made accessible first.
func removeTree(_ path: String) {
    removeEntry(AT_FDCWD, Array(path.utf8))
}

/// Writes `bytes` to `path` (creating or truncating it).
func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
        throw HarnessError("cannot write \(path)")
    }
}

/// Sets the modification time of `path` (not following a symlink) to `seconds` since the epoch.
func setModificationTime(_ path: String, seconds: Int) {
    var times = [timespec(tv_sec: seconds, tv_nsec: 0), timespec(tv_sec: seconds, tv_nsec: 0)]
    _ = utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW)
}

/// The bytes of a file, or nil.
func readFileBytes(_ path: String) -> [UInt8]? {
    FileManager.default.contents(atPath: path).map { [UInt8]($0) }
}

/// A short printable form of raw bytes (escaped like the product escapes names).
func shown(_ bytes: [UInt8]) -> String {
    var out = ""
    for byte in bytes {
        if byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\\") {
            out.unicodeScalars.append(Unicode.Scalar(byte))
        } else {
            out += String(format: "\\x%02X", byte)
        }
    }
    return out
}
