import Foundation
import Logging
import PeershareCore
import PeershareTransfer

/// Sends `org.freedesktop.Notifications.Notify` on the session bus through `gdbus call`
/// (libglib2.0-bin), and follows `ActionInvoked` through `gdbus monitor`, so that the agent
/// needs no D-Bus library of its own.
///
/// Every text is passed as a GVariant string literal (quoted, `\` and `'` escaped) and as
/// notification markup with `&`, `<` and `>` escaped, after `DisplayEscape`: a peer's name
/// or a file name can neither break the call nor format the bubble.
struct DesktopNotifier: Sendable {
    let gdbus: String
    let bus: String
    let logger: Logger

    static let service = "org.freedesktop.Notifications"
    static let path = "/org/freedesktop/Notifications"

    /// Shows a notification; its id, or nil when the call failed (logged at info: a session
    /// without a notification server is normal).
    func notify(summary: String, body: String, actions: [(key: String, label: String)] = []) async -> UInt32? {
        let actionList = actions.flatMap { [Self.literal($0.key), Self.literal($0.label)] }.joined(separator: ", ")
        let arguments = ["call", "--session", "--timeout", "5", "--dest", Self.service, "--object-path", Self.path,
                         "--method", Self.service + ".Notify",
                         "'peershare'", "uint32 0", "'folder-download'", Self.literal(Self.markup(summary)),
                         Self.literal(Self.markup(body)), "@as [\(actionList)]", "@a{sv} {}", "int32 -1"]
        guard let output = await run(arguments) else { return nil }
        // gdbus prints the reply as a GVariant tuple: "(uint32 7,)".
        guard let range = output.range(of: "uint32 ") else { return nil }
        return UInt32(output[range.upperBound...].prefix { $0.isNumber })
    }

    private func run(_ arguments: [String]) async -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: gdbus)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["DBUS_SESSION_BUS_ADDRESS": bus]) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        let (ended, finish) = AsyncStream<Int32>.makeStream()
        process.terminationHandler = { finish.yield($0.terminationStatus); finish.finish() }
        do { try process.run() } catch {
            logger.info("notifications: cannot run gdbus", metadata: ["error": "\(error)"])
            return nil
        }
        // The reply is one short line; read it before waiting, so a full pipe cannot stall gdbus.
        let data = output.fileHandleForReading.readDataToEndOfFile()
        var statuses = ended.makeAsyncIterator()
        guard await statuses.next() == 0 else {
            logger.info("notifications: the session bus did not take the notification")
            return nil
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// A GVariant text-format string literal.
    static func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }

    /// Notification body markup (a subset of HTML) with nothing of `text` read as markup.
    static func markup(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
