import Foundation
import Logging
import NIOConcurrencyHelpers
import PeershareCore
import PeershareTransfer
import ServiceLifecycle

/// Desktop notifications for a person who is not watching the agent's terminal: an offer
/// (who, what, how big, how to accept) and a finished receive, with an "Open folder"
/// action that opens the folder the files went to (`xdg-open`).
///
/// Made only inside a desktop session (`SessionBus`) with `gdbus` installed and
/// `notify = true`; otherwise ``state`` says why it is off and nothing is ever sent.
public struct NotifyService: Service {
    public enum State: Sendable, Equatable {
        case on
        case off(String)
    }

    let notifier: DesktopNotifier?
    public let state: State
    let events: AsyncStream<TransferEvent>
    let end: @Sendable () -> Void
    /// Notification id → the folder its "Open folder" action opens (the last 64).
    private let folders = NIOLockedValueBox<[(id: UInt32, folder: String)]>([])

    public init(agent: Agent, environment: [String: String] = ProcessInfo.processInfo.environment) {
        (events, end) = agent.hub.makeSubscription()
        if !agent.options.notify {
            (notifier, state) = (nil, .off("notify = false"))
        } else if let bus = SessionBus.address(environment: environment) {
            if let gdbus = SessionBus.tool("gdbus", environment: environment) {
                (notifier, state) = (DesktopNotifier(gdbus: gdbus, bus: bus, logger: agent.logger), .on)
            } else {
                (notifier, state) = (nil, .off("gdbus is not installed (package libglib2.0-bin)"))
            }
        } else {
            (notifier, state) = (nil, .off("no desktop session bus"))
        }
    }

    public func run() async throws {
        guard let notifier else {
            // Returning would end the agent (a finished service cancels its group).
            try? await gracefulShutdown()
            return
        }
        let end = self.end
        let monitor = ActionMonitor(notifier: notifier) { id, action in
            guard action == "open", let folder = folders.withLockedValue({ $0.last { $0.id == id }?.folder }) else { return }
            Self.open(folder, logger: notifier.logger)
        }
        await withGracefulShutdownHandler {
            monitor.start()
            for await event in events { await show(event, notifier) }
            monitor.stop()
        } onGracefulShutdown: {
            end()
        }
    }

    private func show(_ event: TransferEvent, _ notifier: DesktopNotifier) async {
        switch event.what {
        case .offer(let offer):
            let peer = Self.quoted(offer.peer)
            let size = ByteCount.format(offer.totalBytes)
            let how = offer.needsCode
                ? "To accept, type the pairing code shown on \(peer)'s screen: peershare accept CODE"
                : "To accept: peershare accept (or peershare decline)"
            _ = await notifier.notify(summary: "Offer from \(peer)",
                                      body: "\(offer.files) file(s), \(size): \(Self.names(offer.names))\n\(how)")
        case .received(let received):
            let folder = received.inbox ?? ""
            let id = await notifier.notify(
                summary: "Received from \(Self.quoted(received.peer))",
                body: "\(received.files) file(s), \(ByteCount.format(received.bytes)): \(Self.names(received.names))\nin \(DisplayEscape.escape(folder))",
                actions: folder.isEmpty ? [] : [("open", "Open folder")])
            if let id, !folder.isEmpty {
                folders.withLockedValue { list in
                    list.append((id, folder))
                    if list.count > 64 { list.removeFirst(list.count - 64) }
                }
            }
        default:
            break
        }
    }

    private static func quoted(_ peer: String) -> String { "\"\(DisplayEscape.escape(peer))\"" }

    /// The first three names, escaped, and how many more there are.
    private static func names(_ names: [String]) -> String {
        let shown = names.prefix(3).map { DisplayEscape.escape($0) }.joined(separator: ", ")
        return shown + (names.count > 3 ? " and \(names.count - 3) more" : "")
    }

    /// Opens `folder` in the person's file manager (`xdg-open`, found in `$PATH`).
    static func open(_ folder: String, logger: Logger) {
        guard let opener = SessionBus.tool("xdg-open") else {
            logger.warning("notifications: cannot open the folder: xdg-open is not installed (package xdg-utils)")
            return
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: opener)
        process.arguments = [folder]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch {
            logger.warning("notifications: cannot open the folder", metadata: ["error": "\(error)"])
        }
    }
}
