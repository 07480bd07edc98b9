import Foundation
import Glibc
import NIOPosix
import Testing
@testable import PeershareTransfer

/// Dialling a peer's addresses (`Connections.connect(toFirstOf:)`): the dials overlap with a
/// stagger, and the first connection wins. Real sockets on 127.0.0.1.
@Suite("Happy eyeballs")
struct HappyEyeballsTests {
    /// A listening socket on 127.0.0.1 (the kernel completes connections into its backlog).
    final class Listener {
        let fd: Int32
        let port: Int

        init() throws {
            let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(socketFD, $0, length) == 0 && listen(socketFD, 16) == 0 && getsockname(socketFD, $0, &length) == 0
                }
            }
            guard socketFD >= 0, bound else {
                close(socketFD)
                throw AgentError(.io, "cannot listen on 127.0.0.1")
            }
            fd = socketFD
            port = Int(UInt16(bigEndian: address.sin_port))
        }

        deinit { close(fd) }

        var address: PeerAddress { PeerAddress(host: "127.0.0.1", port: port) }
    }

    /// An address where nothing listens (a port just bound and released).
    static func refusedAddress() throws -> PeerAddress {
        let listener = try Listener()
        return listener.address
    }

    @Test("A refused address first, then a live one: the live one is reached")
    func refusedThenLive() async throws {
        let live = try Listener()
        let dead = try Self.refusedAddress()
        let (channel, _, reached) = try await Connections.connect(toFirstOf: [dead, live.address], group: MultiThreadedEventLoopGroup.singleton)
        try? await channel.channel.close()
        #expect(reached == live.address)
    }

    @Test("Two live addresses: the first wins (the second would start a stagger later)")
    func firstLiveWins() async throws {
        let first = try Listener(), second = try Listener()
        let (channel, _, reached) = try await Connections.connect(toFirstOf: [first.address, second.address], group: MultiThreadedEventLoopGroup.singleton)
        try? await channel.channel.close()
        #expect(reached == first.address)
    }

    @Test("No address answers: the error names every address")
    func nothingAnswers() async throws {
        let one = try Self.refusedAddress(), two = try Self.refusedAddress()
        do {
            let (channel, _, _) = try await Connections.connect(toFirstOf: [one, two], group: MultiThreadedEventLoopGroup.singleton)
            try? await channel.channel.close()
            Issue.record("a connection to \(one) or \(two) succeeded")
        } catch {
            #expect(error.kind == .unreachable)
            #expect(error.message.contains(one.description) && error.message.contains(two.description), "\(error.message)")
        }
    }
}
