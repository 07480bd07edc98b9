import Foundation
import NIOConcurrencyHelpers

/// Follows the notification server's `ActionInvoked` signals with a `gdbus monitor` child
/// (one line per signal, e.g.
/// `/org/freedesktop/Notifications: org.freedesktop.Notifications.ActionInvoked (uint32 7, 'open')`)
/// and calls `onAction` with the notification id and the action key.
final class ActionMonitor: Sendable {
    private let notifier: DesktopNotifier
    private let onAction: @Sendable (UInt32, String) -> Void
    /// The running child; set in `start`, terminated in `stop`.
    private let child = NIOLockedValueBox<Process?>(nil)

    init(notifier: DesktopNotifier, onAction: @escaping @Sendable (UInt32, String) -> Void) {
        self.notifier = notifier
        self.onAction = onAction
    }

    func start() {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: notifier.gdbus)
        process.arguments = ["monitor", "--session", "--dest", DesktopNotifier.service, "--object-path", DesktopNotifier.path]
        process.environment = ProcessInfo.processInfo.environment.merging(["DBUS_SESSION_BUS_ADDRESS": notifier.bus]) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        let onAction = self.onAction
        let reader = LineReader()
        output.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil; return }
            for line in reader.take(data) {
                if let (id, action) = Self.parse(line) { onAction(id, action) }
            }
        }
        do {
            try process.run()
            child.withLockedValue { $0 = process }
        } catch {
            notifier.logger.info("notifications: cannot follow actions (gdbus monitor)", metadata: ["error": "\(error)"])
        }
    }

    func stop() {
        child.withLockedValue { process in
            if let process, process.isRunning { process.terminate() }
            process = nil
        }
    }

    /// The id and action key of an `ActionInvoked` line; nil for any other line.
    static func parse(_ line: String) -> (UInt32, String)? {
        guard let range = line.range(of: ".ActionInvoked (uint32 ") else { return nil }
        let rest = line[range.upperBound...]
        guard let id = UInt32(rest.prefix { $0.isNumber }),
              let open = rest.firstIndex(of: "'"), let close = rest.lastIndex(of: "'"), open < close else { return nil }
        return (id, String(rest[rest.index(after: open)..<close]))
    }
}

/// Splits a byte stream into lines (at most 64 KiB pending).
final class LineReader: Sendable {
    private let pending = NIOLockedValueBox<[UInt8]>([])

    func take(_ data: Data) -> [String] {
        pending.withLockedValue { buffer in
            buffer.append(contentsOf: data)
            var lines: [String] = []
            while let newline = buffer.firstIndex(of: 10) {
                lines.append(String(decoding: buffer[..<newline], as: UTF8.self))
                buffer.removeSubrange(...newline)
            }
            if buffer.count > 1 << 16 { buffer.removeAll() }
            return lines
        }
    }
}
