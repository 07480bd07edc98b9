import Foundation
import Logging
import PeershareCore
import PeershareDiscovery
import PeershareTransfer

/// What the command line asks of peershare, whether an agent runs or not: "is an agent
/// running? Ask it; otherwise do the work in this process" is decided here, once.
public struct PeershareClient: Sendable {
    /// Where a request is served.
    public enum Route: Sendable {
        /// The running agent, over its control socket.
        case agent
        /// This process, with an agent of its own for the request's duration.
        case here
    }

    public let paths: StatePaths
    public let logger: Logger

    public init(paths: StatePaths, logger: Logger) {
        self.paths = paths
        self.logger = logger
    }

    /// Whether an agent answers on the control socket.
    public func route() async -> Route {
        await ControlClient.isAgentListening(paths: paths) ? .agent : .here
    }

    // MARK: Peers

    public struct PeerList: Sendable {
        public var peers: [PeerInfo]
        /// Peers the running agent left out of its reply.
        public var more: Int
        /// Why the list may be short (discovery off or unavailable, or no agent running).
        public var note: String?
    }

    /// The running agent's live table with its static and paired peers (probed first with
    /// `probe`), or else what a browse of `browseSeconds` finds and the paired peers, unprobed.
    public func peers(browseSeconds: Double, probe: Bool = false) async throws(AgentError) -> PeerList {
        switch await route() {
        case .agent:
            var request = ControlRequest(command: .peers)
            request.probe = probe ? true : nil
            let reply = try await ControlClient.request(request, paths: paths)
            var note: String?
            if let state = reply.discovery, state == "off" {
                note = "The agent runs with discovery off (--discovery off); no peers are listed."
            } else if let state = reply.discovery, state.hasPrefix("unavailable") {
                note = "Discovery is \(state). Peers can still be reached as HOST:PORT."
            }
            return PeerList(peers: reply.peers ?? [], more: reply.truncated ?? 0, note: note)
        case .here:
            let identity = try IdentityStore.loadOrCreate(paths: paths)
            let options = try Settings.resolve(paths: paths, overrides: Settings.Overrides(), hostName: Settings.hostName).options
            let (found, problem) = await PeerDirectory.browseOnce(
                seconds: browseSeconds, ownKey: identity.publicKey, mode: options.discovery,
                interfaces: options.discoveryInterfaces, logger: logger)
            let pins = try TrustStore(paths: paths).all()
            let note = problem.map { "No agent is running, and discovery is not available: \($0). Peers can still be reached as HOST:PORT." }
                ?? "No agent is running: browsed the network for \(String(format: "%g", browseSeconds)) seconds."
            let remembered = try Agent.rememberedListing(paths: paths, excluding: Set(found.map(\.publicKeyHex)))
            return PeerList(peers: found.map { PeerInfo($0, pins: pins) } + remembered, more: 0, note: note)
        }
    }

    // MARK: Sending

    public struct SendRequest: Sendable {
        /// Absolute paths.
        public var paths: [String]
        public var to: String
        /// A `file` event per file (`send -v`).
        public var verbose: Bool
        /// The name the receiver sees, for a send from this process.
        public var name: String?
        /// `--limit-rate`, in bytes per second (nil: the configured limit, if any).
        public var limitRate: UInt64?
        /// Globs of entries inside the folders not to send (`send --exclude`).
        public var exclude: [String]
        /// The one path is a text (`send --text`, `send -`), sent as TEXT when the receiver takes it.
        public var text = false

        public init(paths: [String], to: String, verbose: Bool, name: String?, exclude: [String] = []) {
            self.paths = paths
            self.to = to
            self.verbose = verbose
            self.name = name
            self.exclude = exclude
        }
    }

    /// A send through the running agent: its events arrive in `events`. Ends with the error
    /// its `error` event named; an agent that ended without a result is said as an `error`
    /// event too. A failure to talk to the agent is only thrown.
    public func sendThroughAgent(_ send: SendRequest, events: @escaping EventSink) async throws(AgentError) {
        var request = ControlRequest(command: .send)
        request.paths = send.paths
        request.exclude = send.exclude.isEmpty ? nil : send.exclude
        request.to = send.to
        request.verbose = send.verbose ? true : nil
        request.limitRate = send.limitRate
        request.text = send.text ? true : nil
        var failure: AgentError?
        var finished = false
        try await ControlClient.stream(request, paths: paths) { event in
            events(event)
            switch event.what {
            case .error(let failed):
                finished = true
                failure = AgentError(failed.errorKind ?? .general, failed.message)
            case .done:
                finished = true
            default:
                break
            }
        }
        if let failure { throw failure }
        if !finished {
            let error = AgentError(.general, "The agent ended the transfer without a result.")
            events(.failure(error))
            throw error
        }
    }

    /// An agent of this process for sends without a running one, and how to turn a `--to`
    /// into a target: a name (one of `targets`) needs the network looked at briefly (no
    /// agent, so no live table), as `peers` does; HOST:PORT needs nothing.
    public func standalone(name: String?, lookingUp targets: [String]) async throws(AgentError)
        -> (Agent, @Sendable (String) throws(AgentError) -> SendTarget) {
        var overrides = Settings.Overrides()
        overrides.name = name
        let options = try Settings.resolve(paths: paths, overrides: overrides, hostName: Settings.hostName).options
        let agent = try Agent(paths: paths, options: options, logger: logger)
        let known = try KnownPeers.read(trust: agent.trust, book: agent.addressBook, defaultPort: AgentOptions.defaultPort)
        guard targets.contains(where: { PeerAddress(parsing: $0) == nil }) else {
            return (agent, { target throws(AgentError) in try PeerResolver.resolve(target, peers: [], known: known) })
        }
        let (found, problem) = await PeerDirectory.browseOnce(
            seconds: 2.5, ownKey: agent.identity.publicKey, mode: options.discovery,
            interfaces: options.discoveryInterfaces, logger: logger)
        // A paired peer is also found by name at its remembered addresses, with discovery off
        // or when mDNS does not reach it.
        return (agent, { target throws(AgentError) in
            do throws(AgentError) {
                return try PeerResolver.resolve(target, peers: found, known: known)
            } catch where found.isEmpty && error.kind == .usage {
                guard let problem else { throw error }
                throw AgentError(.unreachable, "Cannot look up '\(DisplayEscape.escape(target))': discovery is not available (\(problem)), and no paired peer has that name. Give HOST:PORT instead.")
            }
        })
    }

    /// A send by this process, with an agent of its own (no listener). The send is recorded
    /// in the history.
    public func sendHere(_ send: SendRequest, events: @escaping EventSink) async throws(AgentError) {
        let (agent, resolve) = try await standalone(name: send.name, lookingUp: [send.to])
        var target = try resolve(send.to)
        target.fileEvents = send.verbose
        target.limitRate = send.limitRate
        target.sendsText = send.text
        let history = HistoryRecording(agent: agent)
        let result: Result<SendResult, AgentError>
        do {
            result = .success(try await agent.send(paths: send.paths, exclude: send.exclude, to: target, events: events))
        } catch {
            result = .failure(error)
        }
        await history.finish()
        _ = try result.get()
    }
}
