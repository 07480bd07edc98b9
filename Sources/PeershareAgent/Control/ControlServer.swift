import Foundation
import SodiumKit
import Logging
import NIOCore
import NIOPosix
import PeershareCore
internal import CPeershareSys

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
            try await withTaskCancellationHandler {
                try await server.executeThenClose { inbound in
                    try await withThrowingDiscardingTaskGroup { group in
                        for try await connection in inbound {
                            group.addTask { await handle(connection) }
                        }
                    }
                }
            } onCancel: {
                server.channel.close(promise: nil)
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
        guard let uid = await peerUID(connection.channel) else {
            // The client already went away (a liveness probe): nothing to serve.
            try? await connection.channel.close()
            return
        }
        guard uid == getuid() else {
            agent.logger.warning("refused a control connection from another user", metadata: ["control.uid": "\(uid)"])
            try? await connection.channel.close()
            return
        }
        try? await connection.executeThenClose { inbound, outbound in
            var lines = inbound.makeAsyncIterator()
            guard let line = try await lines.next() else { return }
            func write(_ text: String) async throws {
                try await outbound.write(ByteBuffer(string: text + "\n"))
            }
            let request: ControlRequest
            do {
                request = try ControlJSON.decoder().decode(ControlRequest.self, from: Data(line.readableBytesView))
            } catch {
                try await write(ControlJSON.line(ControlReply.failure(AgentError(.usage, "Malformed control request."))))
                return
            }
            switch request.command {
            case "send":
                try await streamSend(request, channel: connection.channel, write: write)
            case "events":
                for await event in agent.hub.subscribe() {
                    try await write(ControlJSON.line(event))
                }
            default:
                try await write(ControlJSON.line(await reply(to: request)))
            }
        }
    }

    private func reply(to request: ControlRequest) async -> ControlReply {
        do throws(AgentError) {
            switch request.command {
            case "status":
                var reply = ControlReply(ok: true)
                reply.status = await status()
                return reply
            case "inbox":
                var reply = ControlReply(ok: true)
                reply.offers = await agent.pendingOffers()
                return reply
            case "accept":
                var code: PairingCode?
                if let text = request.code {
                    guard let parsed = PairingCode(typed: text) else {
                        throw AgentError(.usage, "A pairing code is 6 digits, like 428 913.")
                    }
                    code = parsed
                }
                var reply = ControlReply(ok: true)
                reply.offer = try await agent.accept(code: code, offerID: request.offer)
                return reply
            case "peers":
                var reply = ControlReply(ok: true)
                let pins = try agent.trust.all()
                reply.peers = agent.directory.peers.map { PeerInfo($0, pins: pins) }
                reply.discovery = agent.directory.state
                return reply
            case "decline":
                var reply = ControlReply(ok: true)
                reply.offer = try await agent.decline(offerID: request.offer)
                return reply
            default:
                throw AgentError(.usage, "Unknown control command '\(DisplayEscape.escape(request.command))'.")
            }
        } catch {
            return .failure(error)
        }
    }

    /// Runs a send for a client and streams its events; the client's disconnect cancels it.
    private func streamSend(_ request: ControlRequest, channel: any Channel, write: @escaping (String) async throws -> Void) async throws {
        guard let paths = request.paths, !paths.isEmpty, let to = request.to else {
            try await write(ControlJSON.line(TransferEvent.failure(AgentError(.usage, "send needs paths and a PEER."))))
            return
        }
        let target: SendTarget
        do {
            target = try PeerResolver.resolve(to, peers: agent.directory.peers)
        } catch {
            try await write(ControlJSON.line(TransferEvent.failure(error)))
            return
        }
        let (stream, continuation) = AsyncStream<TransferEvent>.makeStream(bufferingPolicy: .unbounded)
        let agent = self.agent
        let task = Task {
            _ = try? await agent.send(paths: paths, to: target) { continuation.yield($0) }
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
