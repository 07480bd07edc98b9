// `--discovery auto`: the system's avahi-daemon when it runs, the embedded stack when
// it does not, and a clean hand-over when that changes while the agent runs.

import Foundation
import NIOConcurrencyHelpers
import Logging

/// Chooses between the daemon and the embedded stack, and switches:
/// - at start, a watch-only daemon client says within moments whether a daemon is
///   reachable: if so, that client is promoted to the daemon back end (publishing and
///   browsing on the same D-Bus connection); if not, the embedded stack runs;
/// - while the embedded stack runs, the watcher stays: when a daemon appears, the
///   embedded stack is stopped first (its goodbye packets go out), every record it
///   reported is removed, and the watcher is promoted to the daemon back end, being
///   the right citizen on a desktop;
/// - when the daemon goes away and stays away for `fallbackDelay` (a daemon restart
///   takes a second or two), the embedded stack takes over again.
/// The events of whichever back end is active are passed on; the rest are dropped.
public final class AutoDiscovery: DiscoveryBackend {
    public typealias Factory = @Sendable () -> any DiscoveryBackend

    private let makeWatcher: Factory
    private let makeDaemon: Factory
    private let makeEmbedded: Factory
    private let fallbackDelay: Duration
    private let logger: Logger
    private let running = NIOLockedValueBox<Task<Void, Never>?>(nil)

    public convenience init(interfaces: InterfaceFilter, logger: Logger) {
        self.init(
            watcher: { AvahiDaemonDiscovery(interfaces: interfaces, watchOnly: true, logger: logger) },
            daemon: { AvahiDaemonDiscovery(interfaces: interfaces, logger: logger) },
            embedded: { AvahiEmbeddedDiscovery(interfaces: interfaces, logger: logger) },
            fallbackDelay: .seconds(5), logger: logger)
    }

    /// With explicit back ends, so the switching can be tested with fakes.
    public init(watcher: @escaping Factory, daemon: @escaping Factory, embedded: @escaping Factory,
                fallbackDelay: Duration, logger: Logger) {
        self.makeWatcher = watcher
        self.makeDaemon = daemon
        self.makeEmbedded = embedded
        self.fallbackDelay = fallbackDelay
        self.logger = logger
    }

    public func start(advert: ServiceAdvert?) -> AsyncStream<DiscoveryEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: DiscoveryEvent.self, bufferingPolicy: .unbounded)
        let switcher = Switcher(advert: advert, output: continuation, makeWatcher: makeWatcher, makeDaemon: makeDaemon,
                                makeEmbedded: makeEmbedded, fallbackDelay: fallbackDelay, logger: logger)
        let task = Task { await switcher.run() }
        continuation.onTermination = { _ in task.cancel() }
        let previous = running.withLockedValue { slot -> Task<Void, Never>? in
            defer { slot = task }
            return slot
        }
        previous?.cancel()
        return stream
    }

    public func stop() async {
        let task = running.withLockedValue { slot -> Task<Void, Never>? in
            defer { slot = nil }
            return slot
        }
        task?.cancel()
        await task?.value
    }
}

/// The switching state machine of one `AutoDiscovery.start`. All its state lives in
/// `run()`'s task (its `Machine`); the back ends' streams and the fallback timer only feed `inbox`.
private struct Switcher: Sendable {
    enum Source: Sendable { case watcher, daemon, embedded, fallbackTimer }

    /// An event of the back end (or timer) started as `generation`.
    struct Input: Sendable {
        var generation: Int
        var event: DiscoveryEvent?
    }

    /// One running back end and the task that forwards its events.
    struct Running {
        var backend: any DiscoveryBackend
        var pump: Task<Void, Never>
        var generation: Int

        func stop() async {
            await backend.stop()
            pump.cancel()
        }
    }

    enum Phase { case probing, daemon, embedded }

    /// Records reported by the embedded stack and not yet removed: withdrawn from the
    /// table when the daemon takes over, since the stopped stack will not report them.
    struct RecordKey: Hashable {
        var instanceName: String
        var interfaceIndex: Int32
        var isIPv6: Bool
    }

    let advert: ServiceAdvert?
    let output: AsyncStream<DiscoveryEvent>.Continuation
    let makeWatcher: AutoDiscovery.Factory
    let makeDaemon: AutoDiscovery.Factory
    let makeEmbedded: AutoDiscovery.Factory
    let fallbackDelay: Duration
    let logger: Logger

    func run() async {
        let (inbox, feed) = AsyncStream.makeStream(of: Input.self, bufferingPolicy: .unbounded)
        var machine = Machine(switcher: self, feed: feed)
        machine.watcher = machine.launch(.watcher, makeWatcher(), advert: nil)
        for await input in inbox {
            if Task.isCancelled { break }
            await machine.handle(input)
        }
        await machine.stopAll()
        feed.finish()
        output.finish()
    }

    /// The switcher's state, owned by `run()`'s task alone.
    struct Machine {
        let switcher: Switcher
        let feed: AsyncStream<Input>.Continuation
        var generation = 0
        var phase = Phase.probing
        var watcher: Running?
        var daemon: Running?
        var embedded: Running?
        var timer: Task<Void, Never>?
        var embeddedRecords = Set<RecordKey>()
        /// What each live generation speaks for; inputs of any other generation are stale.
        var roles: [Int: Source] = [:]

        var output: AsyncStream<DiscoveryEvent>.Continuation { switcher.output }
        var logger: Logger { switcher.logger }

        mutating func handle(_ input: Input) async {
            guard let source = roles[input.generation] else { return }
            switch (phase, source, input.event) {
            case (.probing, .watcher, .daemonAvailable?):
                logger.info("avahi-daemon is running: discovery goes through it")
                await switchToDaemon()
            case (.probing, .watcher, .daemonUnavailable(let why)?):
                logger.info("no avahi-daemon: discovery uses the embedded mDNS stack", metadata: ["discovery.reason": "\(why)"])
                embedded = launch(.embedded, switcher.makeEmbedded(), advert: switcher.advert)
                phase = .embedded
            case (.embedded, .watcher, .daemonAvailable?):
                await handOverToDaemon()
            case (.embedded, .embedded, let event?):
                track(event)
                output.yield(event)
            case (.daemon, .daemon, let event?):
                watchDaemon(event)
                output.yield(event)
            case (.daemon, .fallbackTimer, nil):
                await fallBackToEmbedded()
            default:
                break
            }
        }

        mutating func retire(_ source: Source) {
            roles = roles.filter { $0.value != source }
        }

        mutating func assign(_ tag: Int, to source: Source) {
            retire(source)
            roles[tag] = source
        }

        mutating func launch(_ source: Source, _ backend: any DiscoveryBackend, advert: ServiceAdvert?) -> Running {
            generation += 1
            let tag = generation
            assign(tag, to: source)
            let events = backend.start(advert: advert)
            let feed = self.feed
            let pump = Task {
                for await event in events { feed.yield(Input(generation: tag, event: event)) }
            }
            return Running(backend: backend, pump: pump, generation: tag)
        }

        /// The daemon back end takes over: the watcher itself, promoted on the client it
        /// already has, or (if it cannot be promoted) a new back end.
        mutating func switchToDaemon() async {
            phase = .daemon
            if let current = watcher, let promotable = current.backend as? any PromotableDiscovery,
               promotable.promote(advert: switcher.advert) {
                assign(current.generation, to: .daemon)
                daemon = current
                watcher = nil
                // What a new daemon back end would have said first.
                output.yield(.using(.daemon))
                output.yield(.daemonAvailable)
                return
            }
            await watcher?.stop()
            watcher = nil
            daemon = launch(.daemon, switcher.makeDaemon(), advert: switcher.advert)
        }

        /// A daemon appeared while the embedded stack runs: stop the stack (its goodbye
        /// packets go out), withdraw what it reported, and let the daemon take over.
        mutating func handOverToDaemon() async {
            logger.info("avahi-daemon appeared: handing discovery over to it")
            retire(.embedded)
            await embedded?.stop()
            embedded = nil
            for record in embeddedRecords.sorted(by: { $0.instanceName < $1.instanceName }) {
                output.yield(.removed(instanceName: record.instanceName, interfaceIndex: record.interfaceIndex,
                                      protocolIsIPv6: record.isIPv6))
            }
            embeddedRecords.removeAll()
            await switchToDaemon()
        }

        /// Keeps the records the embedded stack reported, to withdraw them on a hand-over.
        mutating func track(_ event: DiscoveryEvent) {
            switch event {
            case .resolved(let service, let index, let isIPv6):
                embeddedRecords.insert(RecordKey(instanceName: service.instanceName, interfaceIndex: index, isIPv6: isIPv6))
            case .removed(let name, let index, let isIPv6):
                embeddedRecords.remove(RecordKey(instanceName: name, interfaceIndex: index, isIPv6: isIPv6))
            case .daemonUnavailable:
                embeddedRecords.removeAll()
            default:
                break
            }
        }

        /// The daemon going away starts the fallback timer; its return stops it.
        mutating func watchDaemon(_ event: DiscoveryEvent) {
            if case .daemonUnavailable = event {
                timer?.cancel()
                generation += 1
                let tag = generation
                assign(tag, to: .fallbackTimer)
                let delay = switcher.fallbackDelay
                let feed = self.feed
                timer = Task {
                    try? await Task.sleep(for: delay)
                    if !Task.isCancelled { feed.yield(Input(generation: tag, event: nil)) }
                }
            } else if case .daemonAvailable = event {
                timer?.cancel()
                retire(.fallbackTimer)
            }
        }

        mutating func fallBackToEmbedded() async {
            logger.info("avahi-daemon stayed away: discovery falls back to the embedded mDNS stack")
            retire(.daemon)
            await daemon?.stop()
            daemon = nil
            watcher = launch(.watcher, switcher.makeWatcher(), advert: nil)
            embedded = launch(.embedded, switcher.makeEmbedded(), advert: switcher.advert)
            phase = .embedded
        }

        func stopAll() async {
            timer?.cancel()
            for part in [watcher, daemon, embedded].compactMap({ $0 }) { await part.stop() }
        }
    }
}
