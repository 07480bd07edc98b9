import Foundation
import SodiumKit
import Logging
import NIOCore
import NIOPosix
import PeershareCore
internal import CPeershareSys
import PeershareTransfer

/// The local control API: a Unix socket (directory 0700, socket 0600) through which the
/// other subcommands talk to the running agent. Connections from another uid are refused,
/// checked with `SO_PEERCRED`, whatever the file modes say.
///
/// Protocol: the client writes one `ControlRequest` line; the agent answers one
/// `ControlReply` line, or, for `send` and `events`, a stream of `TransferEvent` lines.
public struct ControlServer: Sendable {
    let agent: Agent
    let status: @Sendable () async -> AgentStatus

    public init(agent: Agent, status: @escaping @Sendable () async -> AgentStatus) {
        self.agent = agent
        self.status = status
    }

    static let maxLine = 1 << 20
    /// Control connections served at once. Each holds a descriptor and buffers; without a
    /// cap, thousands of same-user clients exhaust the agent's descriptors and then peer
    /// connections fail too. Extra clients get a one-line `busy` error and are closed.
    static let maxConnections = 64
    /// How long a client may take to send its request line before it is closed.
    static let requestTimeout = TimeAmount.seconds(10)
    /// How long a one-line reply may take to drain to a client that reads slowly.
    static let replyTimeout = TimeAmount.seconds(60)
    /// Peers listed in one `peers` reply; the rest are counted in `truncated`.
    static let maxPeersInReply = 256

    /// The connection slots in use, shared by every accepted control connection.
    private let slots = ControlSlots(capacity: ControlServer.maxConnections)

    /// Binds the socket (replacing a stale one, refusing if another agent answers on it) and
    /// serves until cancelled; the socket file is removed on the way out.
    public func run(onBound: @Sendable () -> Void) async throws(AgentError) {
        let path = agent.paths.controlSocket
        try StatePaths.makeDirectory(agent.paths.runtimeDirectory)
        if FileManager.default.fileExists(atPath: path) {
            if await ControlClient.isAgentListening(paths: agent.paths) {
                throw AgentError(.general, "Another peershare agent is already running for this user (\(path)). Stop it first, or give this one its own --home.")
            }
            unlink(path)
        }
        let server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
        do {
            server = try await ServerBootstrap(group: agent.group)
                .bind(unixDomainSocketPath: path) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineDecoder(maxLength: Self.maxLine)))
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw AgentError(.general, "Cannot open the control socket \(path): \(error)", underlying: error)
        }
        chmod(path, 0o600)
        onBound()
        defer { unlink(path) }
        do {
            try await withThrowingDiscardingTaskGroup { group in
                let failure = await Listener.serve(server, in: &group) { connection in
                    guard slots.take() else { return { await refuseBusy(connection) } }
                    return {
                        defer { slots.release() }
                        await handle(connection)
                    }
                }
                if let failure { throw failure }
            }
        } catch {
            if Task.isCancelled { return }
            throw AgentError(.general, "The control socket failed: \(error)", underlying: error)
        }
    }

    /// `SO_PEERCRED`: the uid of the connecting process. SwiftNIO does not expose the
    /// accepted descriptor, so the option is read into the C shim's `psys_ucred`, whose
    /// layout psys.c checks against the kernel's `struct ucred`.
    private func peerUID(_ channel: any Channel) async -> uid_t? {
        guard let provider = channel as? any SocketOptionProvider else { return nil }
        let credentials: psys_ucred? = try? await provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED)).get()
        return credentials?.uid
    }

    private func handle(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        // Every path ends in `executeThenClose`, which finishes the connection's writer: a
        // connection dropped without it traps in NIOAsyncWriter's deinit (an agent stopping
        // while requests were in flight crashed that way).
        guard let uid = await peerUID(connection.channel) else {
            // The client already went away (a liveness probe), or the agent is stopping.
            try? await connection.executeThenClose { _, _ in }
            return
        }
        guard uid == getuid() else {
            agent.logger.warning("refused a control connection from another user", metadata: ["control.uid": "\(uid)"])
            try? await connection.executeThenClose { _, _ in }
            return
        }
        try? await connection.executeThenClose { inbound, _ in
            let channel = connection.channel
            var lines = inbound.makeAsyncIterator()
            guard let line = try await Self.within(Self.requestTimeout, on: channel, { try await lines.next() }) else { return }
            // Written past NIOAsyncChannel's writer and awaited until in the kernel: the
            // writer's buffer is dropped when `executeThenClose` closes the channel, which cut
            // large replies short for clients that read slowly.
            let write: @Sendable (String) async throws -> Void = { text in
                try await channel.writeAndFlush(ByteBuffer(string: text + "\n")).get()
            }
            let request: ControlRequest
            do {
                request = try ControlJSON.decoder().decode(ControlRequest.self, from: Data(line.readableBytesView))
            } catch {
                try await write(ControlJSON.line(ControlReply.failure(AgentError(.usage, "Malformed control request."))))
                return
            }
            switch request.command {
            case .send:
                try await streamSend(request, channel: channel, write: write)
            case .events:
                try await streamEvents(channel: channel, write: write)
            case .hello, .status, .inbox, .accept, .decline, .peers, .history, .unknown:
                let text = ControlJSON.line(await reply(to: request))
                try await Self.within(Self.replyTimeout, on: channel) { try await write(text) }
            }
        }
    }

    /// Streams every event until the client goes away: its subscription ends when the
    /// channel closes, not only when a write fails, so a client that disconnects while no
    /// events flow does not leave a subscriber (and its task) behind.
    private func streamEvents(channel: any Channel, write: (String) async throws -> Void) async throws {
        let subscription = agent.hub.makeSubscription()
        channel.closeFuture.whenComplete { _ in subscription.end() }
        for await event in subscription.stream {
            try await write(ControlJSON.line(event))
        }
    }

    /// Tells a client over the connection cap why it is closed, with the same flush as a
    /// reply; it waits for no request.
    private func refuseBusy(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let channel = connection.channel
        let reply = ControlReply.failure(AgentError(.busy, "The agent is serving \(Self.maxConnections) control connections already; try again in a moment."))
        try? await connection.executeThenClose { _, _ in
            try? await Self.within(.seconds(2), on: channel) {
                try await channel.writeAndFlush(ByteBuffer(string: ControlJSON.line(reply) + "\n")).get()
            }
        }
    }

    /// Runs `body`, closing `channel` if it has not finished within `limit`: a client that
    /// neither sends its request nor reads its reply holds a connection slot only that long.
    private static func within<T>(_ limit: TimeAmount, on channel: any Channel,
                                  _ body: () async throws -> T) async throws -> T {
        let deadline = channel.eventLoop.scheduleTask(in: limit) { channel.close(promise: nil) }
        defer { deadline.cancel() }
        return try await body()
    }

    private func reply(to request: ControlRequest) async -> ControlReply {
        do throws(AgentError) {
            switch request.command {
            case .hello:
                var reply = ControlReply(ok: true)
                reply.api = ControlAPI.version
                return reply
            case .status:
                var reply = ControlReply(ok: true)
                reply.api = ControlAPI.version
                reply.status = await status()
                return reply
            case .inbox:
                var reply = ControlReply(ok: true)
                reply.offers = await agent.pendingOffers()
                return reply
            case .accept:
                var code: PairingCode?
                if let text = request.code {
                    guard let parsed = PairingCode(typed: text) else {
                        throw AgentError(.usage, "A pairing code is 6 digits, like 428 913.")
                    }
                    code = parsed
                }
                var reply = ControlReply(ok: true)
                reply.offer = try await agent.acceptAndWait(code: code, offerID: request.offer)
                return reply
            case .peers:
                if request.probe == true { await agent.probeReachOnce() }
                var reply = ControlReply(ok: true)
                let pins = try agent.trust.all()
                let peers = agent.directory.peers
                reply.peers = peers.prefix(Self.maxPeersInReply).map { PeerInfo($0, pins: pins) } + (try agent.reachListing())
                let leftOut = max(0, peers.count - Self.maxPeersInReply) + agent.directory.hiddenPeers
                reply.truncated = leftOut > 0 ? leftOut : nil
                reply.discovery = agent.directory.state
                return reply
            case .history:
                var reply = ControlReply(ok: true)
                reply.history = try HistoryFile(paths: agent.paths).latest(HistoryFile.checkedLimit(request.limit))
                return reply
            case .decline:
                var reply = ControlReply(ok: true)
                reply.offer = try await agent.decline(offerID: request.offer)
                return reply
            case .unknown(let name):
                throw AgentError(.usage, "Unknown control command '\(DisplayEscape.escape(name))'.")
            case .send, .events:
                throw AgentError(.usage, "'\(request.command.name)' answers with a stream of events, not a reply.")
            }
        } catch {
            return .failure(error)
        }
    }

    /// Runs a send for a client and streams its events; the client's disconnect cancels it.
    private func streamSend(_ request: ControlRequest, channel: any Channel, write: @escaping @Sendable (String) async throws -> Void) async throws {
        guard let paths = request.paths, !paths.isEmpty, let to = request.to else {
            try await write(ControlJSON.line(TransferEvent.failure(AgentError(.usage, "send needs paths and a PEER."))))
            return
        }
        var target: SendTarget
        do {
            let known = try KnownPeers.read(trust: agent.trust, book: agent.addressBook, defaultPort: AgentOptions.defaultPort)
            target = try PeerResolver.resolve(to, peers: agent.directory.peers, known: known)
            target.fileEvents = request.verbose == true
            target.limitRate = request.limitRate
            target.sendsText = request.text == true
        } catch {
            try await write(ControlJSON.line(TransferEvent.failure(error)))
            return
        }
        let (stream, continuation) = AsyncStream<TransferEvent>.makeStream(bufferingPolicy: .unbounded)
        let agent = self.agent
        let task = Task {
            _ = try? await agent.send(paths: paths, exclude: request.exclude ?? [], to: target) { continuation.yield($0) }
            continuation.finish()
        }
        // The client going away (Ctrl-C on `send`) cancels the transfer, even while it
        // waits for the receiver and no event is being written.
        channel.closeFuture.whenComplete { _ in task.cancel() }
        do {
            for await event in stream {
                try await write(ControlJSON.line(event))
            }
        } catch {
            task.cancel()
            throw error
        }
    }
}
