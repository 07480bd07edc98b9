import NIOConcurrencyHelpers
import NIOCore

extension Connections {
    /// How long each dial waits before the next address is also dialled (happy eyeballs,
    /// RFC 8305's "connection attempt delay"); a dial that fails starts the next at once.
    package static let attemptStagger: Duration = .milliseconds(250)

    /// Dials `addresses` in order, each `stagger` after the previous one (or as soon as the
    /// previous one failed), all running at once; the first to connect wins. A dial that
    /// connects after that closes its own connection, and the others are cancelled: the
    /// winner is returned at once, never after the slowest dial. So a dead address (a
    /// laptop's old lease, another link's link-local address) costs a quarter second, not a
    /// timeout.
    static func race(_ addresses: [PeerAddress], group: any EventLoopGroup, timeout: Int64,
                     stagger: Duration = attemptStagger) async throws(AgentError) -> (FramedChannel, FrameLimit, PeerAddress) {
        let (outcomes, sink) = AsyncStream<Dial>.makeStream()
        let decided = NIOLockedValueBox(false)
        var tasks: [Task<Void, Never>] = []
        defer { tasks.forEach { $0.cancel() } }
        var next = 0
        var running = 0
        func launch() {
            let address = addresses[next]
            next += 1
            running += 1
            tasks.append(Task {
                do throws(AgentError) {
                    let (channel, limit) = try await connect(to: address, group: group, timeout: timeout)
                    let won = decided.withLockedValue { taken in
                        defer { taken = true }
                        return !taken
                    }
                    if won { sink.yield(.connected(channel, limit, address)) } else { try? await channel.channel.close() }
                } catch {
                    sink.yield(.failed(error))
                }
            })
            if next < addresses.count {
                tasks.append(Task {
                    try? await Task.sleep(for: stagger)
                    sink.yield(.stagger)
                })
            }
        }
        var lastError = AgentError(.unreachable, "No address to connect to.")
        guard !addresses.isEmpty else { throw lastError }
        launch()
        for await outcome in outcomes {
            switch outcome {
            case .connected(let channel, let limit, let address):
                return (channel, limit, address)
            case .failed(let error):
                running -= 1
                lastError = error
                if next < addresses.count { launch() }
            case .stagger:
                if next < addresses.count { launch() }
            }
            if running == 0, next >= addresses.count { break }
        }
        throw lastError
    }

    /// One dial's end, or the stagger timer's.
    enum Dial: Sendable {
        case connected(FramedChannel, FrameLimit, PeerAddress)
        case failed(AgentError)
        case stagger
    }
}
