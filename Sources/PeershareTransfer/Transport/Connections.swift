import Foundation
import NIOCore
import NIOPosix
import PeershareCore

/// An accepted or dialled peer connection: frames in, frames out.
package typealias FramedChannel = NIOAsyncChannel<ByteBuffer, ByteBuffer>

package enum Connections {
    /// Installs the frame decoder (capped at the handshake limit until authentication) and
    /// wraps the channel for async use. Runs on the channel's event loop.
    ///
    /// At most 6 frames wait for the reading task (reading resumes below 2): frames are up to
    /// 256 KiB (BATCH made them that large for small files too), the receiver's writer
    /// already buffers 4 decrypted frames, and 16 waiting frames cost 2–4 MiB of peak RSS for
    /// no measurable speed (same-minute comparisons, BENCHMARKS.md).
    package static func makeFramed(_ channel: any Channel) -> EventLoopFuture<(FramedChannel, FrameLimit)> {
        channel.eventLoop.makeCompletedFuture {
            let limit = FrameLimit(WireLimits.maxHandshakeMessage)
            try channel.pipeline.syncOperations.addHandler(FrameAssembler(limit: limit))
            let framed = try FramedChannel(
                wrappingChannelSynchronously: channel,
                configuration: .init(backPressureStrategy: .init(lowWatermark: 2, highWatermark: 6)))
            return (framed, limit)
        }
    }

    /// How much encrypted data may wait in NIO's outbound buffer before the writer suspends.
    /// NIO's default (64 KiB) is below one batch, so the sending task would stop after every
    /// write and encryption would never overlap with the socket; 4 MiB lets the two stages run
    /// on both cores while keeping memory bounded.
    package static let writeWaterMark = ChannelOptions.Types.WriteBufferWaterMark(low: 1 << 20, high: 4 << 20)

    /// Dials `address` with a short connect timeout.
    package static func connect(to address: PeerAddress, group: any EventLoopGroup, timeout: Int64 = 5) async throws(AgentError) -> (FramedChannel, FrameLimit) {
        do {
            return try await ClientBootstrap(group: group)
                .connectTimeout(.seconds(timeout))
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelOption(.writeBufferWaterMark, value: writeWaterMark)
                .connect(host: address.host, port: address.port) { channel in makeFramed(channel) }
        } catch {
            throw unreachable(address, error)
        }
    }

    /// Dials the addresses, staggered and overlapping (`race`; short timeouts when there are
    /// several), and returns the first connection that succeeds, with the address it reached.
    package static func connect(toFirstOf addresses: [PeerAddress], group: any EventLoopGroup) async throws(AgentError) -> (FramedChannel, FrameLimit, PeerAddress) {
        let lastError: AgentError
        do {
            return try await race(addresses, group: group, timeout: addresses.count > 1 ? 2 : 5)
        } catch {
            lastError = error
        }
        if addresses.count > 1 {
            throw AgentError(.unreachable, "Cannot reach the peer at any of its addresses (\(addresses.map(\.description).joined(separator: ", "))). \(lastError.message)")
        }
        throw lastError
    }

    /// The errno of a failed dial (of its last attempt), when it has one.
    static func errno(of error: any Error) -> Int32? {
        switch error {
        case let failure as NIOConnectionError: failure.connectionErrors.last.flatMap { errno(of: $0.error) }
        case let io as IOError: io.errnoCode
        default: nil
        }
    }

    /// A short, human description of a connect error ("connection refused", "timed out"),
    /// never a library's dump: NIO wraps the errno of each attempt in `NIOConnectionError`.
    package static func describe(_ error: any Error) -> String {
        switch error {
        case let failure as NIOConnectionError:
            if let attempt = failure.connectionErrors.last { return describe(attempt.error) }
            if failure.dnsAError != nil || failure.dnsAAAAError != nil { return "the name did not resolve" }
            return "no address to try"
        case let io as IOError:
            return String(cString: strerror(io.errnoCode)).lowercased()
        case is ChannelError:
            return "timed out"
        default:
            return "\(error)"
        }
    }

    /// What a failed dial tells a person: "nothing is listening on 127.0.0.1:1 (connection
    /// refused)" rather than "cannot reach" for the case a person can act on at once.
    package static func unreachable(_ address: PeerAddress, _ error: any Error) -> AgentError {
        let cause = describe(error)
        if errno(of: error) == ECONNREFUSED {
            return AgentError(.unreachable, "Nothing is listening on \(address) (\(cause)). Is peershare running there, and is the port right?", underlying: error)
        }
        return AgentError(.unreachable, "Cannot reach \(address): \(cause). Is peershare running there, and is the port right?", underlying: error)
    }
}
