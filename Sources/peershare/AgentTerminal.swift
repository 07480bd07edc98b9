import Foundation
import PeershareAgent
import PeershareCore
import ServiceLifecycle
import NIOConcurrencyHelpers
import PeershareTransfer

/// What the agent's own terminal shows: its identity, offers (asking for the code or y/N),
/// transfers and their progress. Typed lines answer the oldest waiting offer: six digits
/// are a pairing code, `y` approves, `n` or an empty line declines.
final class AgentTerminal: Sendable {
    let agent: Agent
    let quiet: Bool
    /// Incoming transfers in progress: when each started, its size, bytes so far, and when
    /// its last plain progress line was printed (output that is not a terminal).
    private struct Running {
        var start = Date()
        var total: UInt64
        var bytes: UInt64 = 0
        var lastLine = Date()
    }
    private let started = NIOLockedValueBox<[String: Running]>([:])

    init(agent: Agent, quiet: Bool) {
        self.agent = agent
        self.quiet = quiet
    }

    func listening(port: Int) {
        Console.out("peershare agent \"\(DisplayEscape.escape(agent.options.name))\" listening on port \(port)")
        Console.out("Fingerprint: \(agent.fingerprint)")
        Console.out("Inbox: \(DisplayEscape.escape(agent.options.inbox))")
        if let warning = agent.inboxWarning() { Console.out("WARNING: \(warning)") }
        let interfaces = agent.options.discoveryInterfaces
        let scope = interfaces.isEmpty ? "" : " on \(interfaces.map { DisplayEscape.escape($0) }.joined(separator: ", "))"
        Console.out("Discovery: \(agent.options.discovery.rawValue)\(agent.options.discovery == .off ? "" : scope)")
    }

    /// Whether desktop notifications are on, and if not, why (said once at start).
    func notifications(_ state: NotifyService.State) {
        switch state {
        case .on: Console.out("Notifications: on (desktop session bus)")
        case .off(let why): Console.out("Notifications: off (\(why))")
        }
    }

    func stopped() {
        if !quiet { Console.out("Agent stopped.") }
    }

    func show(_ event: TransferEvent) {
        switch event.what {
        case .offer(let offer):
            showOffer(offer)
        case .offerClosed(let offer):
            Console.out("Offer \(offer.offer) from \"\(DisplayEscape.escape(offer.peer))\" \(offer.message ?? "closed").")
        case .peerAppeared(let seen):
            guard !quiet else { return }
            Console.out("Peer \"\(DisplayEscape.escape(seen.peer))\" appeared (\(seen.fingerprint.map { String($0.prefix(19)) } ?? "?"), \(seen.address ?? "no address")).")
        case .peerLeft(let seen):
            guard !quiet else { return }
            Console.out("Peer \"\(DisplayEscape.escape(seen.peer))\" left.")
        case .discovery(let message):
            Console.err(message)
        case .pairingFailed(let failed):
            Console.out("Pairing with \(failed.address) failed: wrong code (or a tampered connection). The sender has to send again.")
        case .receiving(let receiving):
            showReceiving(receiving)
        case .checking(let checking):
            guard !quiet else { return }
            Console.out("Checking \(ByteCount.format(checking.bytes)) already received from \"\(DisplayEscape.escape(checking.peer ?? "?"))\" (\(checking.files ?? 0) unfinished file(s))…")
        case .progress(let progress):
            showProgress(progress)
        case .received(let received):
            showReceived(received)
        case .error(let failed):
            if Console.errorIsTerminal { Console.endStatus() }
            guard event.direction == .receive else { return }
            showFailure(failed)
        default:
            break
        }
    }

    private func showOffer(_ offer: AgentEvent.OfferShown) {
        let contents = Describe.contents(files: offer.files, directories: offer.directories, bytes: offer.totalBytes)
        Console.out("")
        Console.out("Offer \(offer.offer) from \"\(DisplayEscape.escape(offer.peer))\" at \(offer.address) (fingerprint \(offer.fingerprint)):")
        Console.out("  \(contents): \(Describe.names(offer.names))")
        if let warning = offer.message { Console.out("  WARNING: \(warning)") }
        if offer.needsCode {
            Console.out("  To accept, type the pairing code shown on the sender's screen (or run `peershare accept CODE`); an empty line declines.")
        } else {
            Console.out("  Accept from this paired peer? [y/N] (or run `peershare accept` / `peershare decline`)")
        }
    }

    private func showReceiving(_ receiving: AgentEvent.Receiving) {
        started.withLockedValue { $0[receiving.transfer] = Running(total: receiving.totalBytes) }
        guard !quiet else { return }
        let contents = Describe.contents(files: receiving.files, directories: receiving.directories, bytes: receiving.totalBytes)
        let paired = receiving.paired ? " (paired, \(String(receiving.fingerprint.prefix(19))))" : ""
        Console.out("Receiving \(contents) from \"\(DisplayEscape.escape(receiving.peer))\"\(paired): \(Describe.names(receiving.names))")
        if let warning = receiving.message { Console.out("  WARNING: \(warning)") }
    }

    private func showProgress(_ progress: AgentEvent.Progress) {
        guard !quiet else { return }
        let id = progress.transfer
        let now = Date()
        let (running, plainLineDue) = started.withLockedValue { table -> ([(String, Running)], Bool) in
            guard var entry = table[id] else { return ([], false) }
            entry.bytes = progress.bytes
            let due = now.timeIntervalSince(entry.lastLine) >= 5
            if due { entry.lastLine = now }
            table[id] = entry
            return (table.sorted { $0.key < $1.key }, due)
        }
        if Console.errorIsTerminal {
            // One redrawn line shows every incoming transfer.
            Console.status(running.map { Self.progress(id: $0.0, $0.1, now: now) }.joined(separator: "  |  "))
        } else if plainLineDue, let entry = running.first(where: { $0.0 == id })?.1 {
            Console.out(Self.progress(id: id, entry, now: now))
        }
    }

    /// A received text as one terminal line: escaped, cut to about 200 characters.
    static func shortened(_ text: String) -> String {
        let cut = text.count > 200 ? String(text.prefix(200)) + "…" : text
        return DisplayEscape.escape(cut)
    }

    private func showReceived(_ received: AgentEvent.Received) {
        if Console.errorIsTerminal { Console.endStatus() }
        started.withLockedValue { _ = $0.removeValue(forKey: received.transfer) }
        guard !quiet else { return }
        let timing = Describe.timing(bytes: received.bytes, wireBytes: received.wireBytes, seconds: received.seconds)
        let wait = Describe.wait(received.waitSeconds).map { ", \($0)," } ?? ""
        if let text = received.text {
            Console.out("Text from \"\(DisplayEscape.escape(received.peer))\": \(Self.shortened(text)) (\(text.utf8.count) bytes)")
        }
        Console.out("Received \(received.files) file(s), \(ByteCount.format(received.bytes)) \(timing)\(wait) from \"\(DisplayEscape.escape(received.peer))\" into \(DisplayEscape.escape(agent.options.inbox)): \(Describe.names(received.names))")
    }

    private func showFailure(_ failed: AgentEvent.Failed) {
        let peer = DisplayEscape.escape(failed.peer ?? "?")
        let wasReceiving = failed.transfer.map { id in started.withLockedValue { $0.removeValue(forKey: id) != nil } } ?? false
        if wasReceiving {
            Console.err("Transfer from \"\(peer)\" failed: \(failed.message)")
        } else if failed.errorKind == .security {
            // An impostor's session never was an offer from the peer it claimed to be:
            // "Offer from "alice" refused" would read as if alice had sent it.
            Console.err("Security warning: \(failed.message)")
        } else {
            Console.err("Offer from \"\(peer)\" refused: \(failed.message)")
        }
    }

    /// "1a2b3c4d 45% 5.5 MiB/12.3 MiB 110 MiB/s ETA 0:01".
    private static func progress(id: String, _ entry: Running, now: Date) -> String {
        "\(id) \(Describe.progress(bytes: entry.bytes, total: entry.total, since: entry.start, now: now))"
    }

    /// Handles one line typed on the agent's terminal.
    func answer(_ line: String) async {
        let text = line.trimmingCharacters(in: .whitespaces)
        let offers = await agent.pendingOffers()
        guard !offers.isEmpty else {
            if !text.isEmpty { Console.out("No offer is waiting.") }
            return
        }
        do {
            if let code = PairingCode(typed: text) {
                let offer = try await agent.accept(code: code, offerID: nil)
                Console.out("Checking the code for offer \(offer.id)…")
            } else if ["y", "yes"].contains(text.lowercased()) {
                let offer = try await agent.accept(code: nil, offerID: nil)
                Console.out("Accepted offer \(offer.id).")
            } else if ["", "n", "no"].contains(text.lowercased()) {
                let offer = try await agent.decline(offerID: nil)
                Console.out("Declined offer \(offer.id).")
            } else {
                Console.out("Type the 6-digit pairing code, y or n.")
            }
        } catch {
            Console.err(error.message)
        }
    }
}

/// Prints events and reads typed answers for as long as the agent runs.
struct TerminalService: Service {
    let terminal: AgentTerminal
    let events: AsyncStream<TransferEvent>

    func run() async throws {
        let terminal = self.terminal
        let events = self.events
        let lines = StandardInputLines.start()
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    for await event in events { terminal.show(event) }
                }
                group.addTask {
                    for await line in lines { await terminal.answer(line) }
                }
            }
        }
    }
}

/// Lines typed on standard input, read on a dedicated thread (reading blocks). When standard
/// input is closed or /dev/null, the stream simply ends.
enum StandardInputLines {
    static func start() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        let thread = Thread {
            while let line = readLine(strippingNewline: true) {
                continuation.yield(line)
            }
            continuation.finish()
        }
        thread.start()
        return stream
    }
}
