import Foundation
import NIOConcurrencyHelpers
import PeershareAgent
import PeershareCore
import PeershareTransfer

/// `peershare inbox --watch`: the agent's offers, live, in any terminal of this user, with
/// the same answers the agent's own terminal takes: six digits accept the oldest waiting
/// offer with that pairing code, `y` accepts a paired peer's offer, an empty line or `n`
/// declines it. Ends when the agent stops.
struct InboxWatch: Sendable {
    let paths: StatePaths
    /// Offers waiting, oldest first (ids), and those already shown.
    private let waiting = NIOLockedValueBox<(ids: [String], shown: Set<String>)>(([], []))

    init(paths: StatePaths) { self.paths = paths }

    func run() async throws(AgentError) {
        Console.out("Watching for offers (Ctrl-C stops). Type the pairing code shown on the sender's screen to accept the oldest offer; y accepts a paired peer's offer; an empty line or n declines it.")
        try await refresh()
        let lines = Self.standardInputLines()
        let answers = Task { for await line in lines { await answer(line) } }
        defer { answers.cancel() }
        try await ControlClient.stream(ControlRequest(command: .events), paths: paths) { event in
            await follow(event)
        }
        Console.out("The agent stopped.")
    }

    /// Shows the offers not shown yet (the control socket's `inbox`, which has every detail).
    private func refresh() async throws(AgentError) {
        let offers = try await ControlClient.request(ControlRequest(command: .inbox), paths: paths).offers ?? []
        let fresh = waiting.withLockedValue { state in
            state.ids = offers.map(\.id)
            let new = offers.filter { !state.shown.contains($0.id) }
            state.shown.formUnion(new.map(\.id))
            return new
        }
        for offer in fresh {
            Console.out("")
            InboxCommand.show(offer)
        }
    }

    private func follow(_ event: TransferEvent) async {
        switch event.what {
        case .offer:
            try? await refresh()
        case .offerClosed(let closed):
            forget(closed.offer)
            Console.out("Offer \(closed.offer) from \(Self.quoted(closed.peer)) \(closed.message ?? "closed").")
        case .receiving(let receiving):
            forget(receiving.transfer)
            Console.out("Receiving \(Describe.contents(files: receiving.files, directories: receiving.directories, bytes: receiving.totalBytes)) from \(Self.quoted(receiving.peer)).")
        case .received(let received):
            Console.out("Received \(received.files) file(s), \(ByteCount.format(received.bytes)) from \(Self.quoted(received.peer)) into \(DisplayEscape.escape(received.inbox ?? "the inbox")): \(Describe.names(received.names))")
        case .error(let failed) where event.direction == .receive:
            forget(failed.transfer)
            Console.out("Transfer from \(Self.quoted(failed.peer ?? "?")) failed: \(failed.message)")
        default:
            break
        }
    }

    private static func quoted(_ peer: String) -> String { "\"\(DisplayEscape.escape(peer))\"" }

    private func forget(_ id: String?) {
        guard let id else { return }
        waiting.withLockedValue { $0.ids.removeAll { $0 == id } }
    }

    /// Accepts or declines the oldest waiting offer as `line` says.
    private func answer(_ line: String) async {
        guard let id = waiting.withLockedValue({ $0.ids.first }) else {
            Console.out("No offer is waiting.")
            return
        }
        let typed = line.trimmingCharacters(in: .whitespaces)
        var request = ControlRequest(command: .accept)
        request.offer = id
        switch typed.lowercased() {
        case "", "n", "no":
            request.command = .decline
        case "y", "yes":
            break
        default:
            guard PairingCode(typed: typed) != nil else {
                Console.out("Type the 6-digit code, y, n, or an empty line.")
                return
            }
            request.code = typed
        }
        do {
            let reply = try await ControlClient.request(request, paths: paths)
            let peer = DisplayEscape.escape(reply.offer?.peer ?? "?")
            Console.out(request.command == .decline ? "Declined offer \(id) from \"\(peer)\"." : request.code != nil ? "Code matched; receiving from \"\(peer)\"." : "Accepted; receiving from \"\(peer)\".")
        } catch {
            Console.out("peershare: \(error.message)")
        }
    }

    /// Standard input's lines, read on a thread of their own (a blocking read must not hold
    /// one of the concurrency pool's few threads); finishes at end of input.
    static func standardInputLines() -> AsyncStream<String> {
        let (lines, sink) = AsyncStream<String>.makeStream()
        Thread.detachNewThread {
            while let line = readLine() { sink.yield(line) }
            sink.finish()
        }
        return lines
    }
}
