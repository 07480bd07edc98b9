import Foundation
import NIOCore
import NIOPosix
import PeershareTransfer

/// The client end of the control socket, used by the subcommands.
public enum ControlClient {
    /// True when something answers on this user's control socket. A server of another uid
    /// counts (the request that follows then fails with the security error, rather than a
    /// `send` quietly running without the agent).
    public static func isAgentListening(paths: StatePaths) async -> Bool {
        do {
            guard let fd = try ControlSocket.connect(paths.controlSocket) else { return false }
            close(fd)
            return true
        } catch {
            return error.kind == .security
        }
    }

    /// Connects, checks the server's uid (`ControlSocket`), then hands the descriptor to
    /// SwiftNIO. No agent is `noAgent`; a server of another uid is a security error.
    static func open(paths: StatePaths) async throws(AgentError) -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        guard let fd = try ControlSocket.connect(paths.controlSocket) else { throw noAgent(paths) }
        do {
            return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .withConnectedSocket(fd) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineDecoder(maxLength: 16 << 20)))
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw noAgent(paths)
        }
    }

    static func noAgent(_ paths: StatePaths) -> AgentError {
        AgentError(.noAgent, "No peershare agent is running for this user (no answer on \(paths.controlSocket)). Start it with `peershare` (or `systemctl --user start peershare`).")
    }

    /// Sends one request and returns its one-line reply.
    public static func request(_ request: ControlRequest, paths: StatePaths) async throws(AgentError) -> ControlReply {
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        channel = try await open(paths: paths)
        do {
            return try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: ControlJSON.line(request) + "\n"))
                var lines = inbound.makeAsyncIterator()
                guard let line = try await lines.next() else { throw stoppedWithoutAnswer(paths) }
                let reply = try ControlJSON.decoder().decode(ControlReply.self, from: Data(line.readableBytesView))
                if !reply.ok {
                    throw AgentError(reply.kind ?? .general, reply.error ?? "The agent refused the request.")
                }
                return reply
            }
        } catch let error as AgentError {
            throw error
        } catch let error as IOError where [ECONNRESET, EPIPE].contains(error.errnoCode) {
            throw stoppedWithoutAnswer(paths)
        } catch ChannelError.ioOnClosedChannel, ChannelError.eof {
            throw stoppedWithoutAnswer(paths)
        } catch {
            throw AgentError(.general, "The control connection failed: \(error)", underlying: error)
        }
    }

    /// The agent went away between accepting the request and answering it: it was stopping
    /// (or died). For the caller that is "no agent", not a failed request.
    static func stoppedWithoutAnswer(_ paths: StatePaths) -> AgentError {
        AgentError(.noAgent, "The agent stopped before it answered (\(paths.controlSocket)): no peershare agent is running for this user now. Start it with `peershare` (or `systemctl --user start peershare`).")
    }

    /// Sends a streaming request (`send`, `events`) and calls `onEvent` for every event line
    /// until the agent closes the stream.
    public static func stream(_ request: ControlRequest, paths: StatePaths, onEvent: (TransferEvent) async -> Void) async throws(AgentError) {
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        channel = try await open(paths: paths)
        do {
            try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: ControlJSON.line(request) + "\n"))
                for try await line in inbound {
                    let event = try ControlJSON.decoder().decode(TransferEvent.self, from: Data(line.readableBytesView))
                    await onEvent(event)
                }
            }
        } catch {
            throw AgentError(.general, "The control connection failed: \(error)", underlying: error)
        }
    }
}
