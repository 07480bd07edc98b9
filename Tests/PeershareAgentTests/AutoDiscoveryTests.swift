// The auto mode's switching between the daemon and the embedded stack, driven by fake
// back ends (the stacks themselves are tested in the LAN lab).

import Foundation
import Logging
import Synchronization
import Testing

@testable import PeershareDiscovery

/// A back end whose events the test pushes by hand; it records starts and stops.
private final class FakeBackend: DiscoveryBackend {
    let role: String
    private let state = Mutex<(continuation: AsyncStream<DiscoveryEvent>.Continuation?, advert: ServiceAdvert?, started: Bool, stopped: Bool)>((nil, nil, false, false))

    init(role: String) { self.role = role }

    func start(advert: ServiceAdvert?) -> AsyncStream<DiscoveryEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: DiscoveryEvent.self)
        state.withLock { $0 = (continuation, advert, true, false) }
        return stream
    }

    func stop() async {
        let continuation = state.withLock { value -> AsyncStream<DiscoveryEvent>.Continuation? in
            value.stopped = true
            return value.continuation
        }
        continuation?.finish()
    }

    func send(_ event: DiscoveryEvent) {
        _ = state.withLock { $0.continuation }?.yield(event)
    }

    var advert: ServiceAdvert? { state.withLock { $0.advert } }
    var started: Bool { state.withLock { $0.started } }
    var stopped: Bool { state.withLock { $0.stopped } }
}

/// A fake watcher that can be promoted, as the real daemon watcher can.
private final class PromotableFake: PromotableDiscovery {
    let inner: FakeBackend
    private let promotedWith = Mutex<ServiceAdvert??>(nil)

    init(role: String) { inner = FakeBackend(role: role) }

    func start(advert: ServiceAdvert?) -> AsyncStream<DiscoveryEvent> { inner.start(advert: advert) }
    func stop() async { await inner.stop() }

    func promote(advert: ServiceAdvert?) -> Bool {
        guard !inner.stopped else { return false }
        promotedWith.withLock { $0 = .some(advert) }
        return true
    }

    /// The advert it was promoted with; nil if it never was.
    var promotion: ServiceAdvert?? { promotedWith.withLock { $0 } }
}

/// Every back end the switch created, by role, in order.
private final class Registry: Sendable {
    private let made = Mutex<[FakeBackend]>([])
    private let promotable = Mutex<[PromotableFake]>([])

    /// Watchers that can be promoted (kept apart from `all`).
    func promotableFactory(_ role: String) -> AutoDiscovery.Factory {
        { [self] in
            let backend = PromotableFake(role: role)
            promotable.withLock { $0.append(backend) }
            return backend
        }
    }

    func allPromotable() -> [PromotableFake] { promotable.withLock { $0 } }

    func waitForPromotable(count: Int = 1) async throws -> PromotableFake {
        for _ in 0..<500 {
            let list = allPromotable()
            if list.count >= count, let last = list.last { return last }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw CancellationError()
    }

    func factory(_ role: String) -> AutoDiscovery.Factory {
        { [self] in
            let backend = FakeBackend(role: role)
            made.withLock { $0.append(backend) }
            return backend
        }
    }

    func all(_ role: String) -> [FakeBackend] { made.withLock { $0.filter { $0.role == role } } }

    /// Waits (up to 5 s) until `count` back ends of `role` exist and the last one was
    /// started; returns it. (The switch creates a back end, then starts it: a test that only
    /// waited for it to exist could read its advert before `start` set it.)
    func waitFor(_ role: String, count: Int = 1) async throws -> FakeBackend {
        for _ in 0..<500 {
            let list = all(role)
            if list.count >= count, let last = list.last, last.started { return last }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw CancellationError()
    }
}

private let advert = ServiceAdvert(instanceName: "alice", port: 4000, txt: [TXTKeys.name: "alice"])

private func service(_ name: String) -> DiscoveredService {
    DiscoveredService(instanceName: name, hostName: "\(name).local", port: 1, txt: [:], addresses: [])
}

private final class EventLog: Sendable {
    let lines = Mutex<[String]>([])
}

/// Collects the switch's output in the background.
private final class Output: Sendable {
    private let events = EventLog()
    let task: Task<Void, Never>

    init(_ stream: AsyncStream<DiscoveryEvent>) {
        let events = self.events
        task = Task {
            for await event in stream {
                let text: String
                switch event {
                case .resolved(let service, _, _): text = "resolved \(service.instanceName)"
                case .removed(let name, _, _): text = "removed \(name)"
                case .using(let stack): text = "using \(stack.rawValue)"
                case .daemonAvailable: text = "available"
                case .daemonUnavailable: text = "unavailable"
                case .published(let name): text = "published \(name)"
                case .nameCollision(let name): text = "collision \(name)"
                }
                events.lines.withLock { $0.append(text) }
            }
        }
    }

    var seen: [String] { events.lines.withLock { $0 } }

    func waitUntil(_ condition: ([String]) -> Bool) async throws {
        for _ in 0..<500 {
            if condition(seen) { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("timed out; saw \(seen)")
        throw CancellationError()
    }
}

@Suite("Auto discovery mode")
struct AutoDiscoveryTests {
    private func makeSwitch(_ registry: Registry, fallback: Duration = .milliseconds(100)) -> AutoDiscovery {
        AutoDiscovery(watcher: registry.factory("watcher"), daemon: registry.factory("daemon"),
                      embedded: registry.factory("embedded"), fallbackDelay: fallback,
                      logger: Logger(label: "test"))
    }

    @Test func aRunningDaemonIsUsedAndTheEmbeddedStackNeverStarts() async throws {
        let registry = Registry()
        let auto = makeSwitch(registry)
        let output = Output(auto.start(advert: advert))
        let watcher = try await registry.waitFor("watcher")
        #expect(watcher.advert == nil)
        watcher.send(.daemonAvailable)
        let daemon = try await registry.waitFor("daemon")
        #expect(daemon.advert == advert)
        #expect(watcher.stopped)
        daemon.send(.using(.daemon))
        daemon.send(.resolved(service("bob"), interfaceIndex: 2, protocolIsIPv6: false))
        try await output.waitUntil { $0 == ["using avahi-daemon", "resolved bob"] }
        #expect(registry.all("embedded").isEmpty)
        await auto.stop()
        #expect(daemon.stopped)
    }

    @Test func aWatcherThatCanBePromotedBecomesTheDaemonBackEndOnItsOwnConnection() async throws {
        let registry = Registry()
        let auto = AutoDiscovery(watcher: registry.promotableFactory("watcher"), daemon: registry.factory("daemon"),
                                 embedded: registry.factory("embedded"), fallbackDelay: .milliseconds(100),
                                 logger: Logger(label: "test"))
        let output = Output(auto.start(advert: advert))
        let watcher = try await registry.waitForPromotable()
        #expect(watcher.inner.advert == nil)
        watcher.inner.send(.daemonAvailable)
        try await output.waitUntil { $0 == ["using avahi-daemon", "available"] }
        #expect(watcher.promotion == .some(advert))
        #expect(!watcher.inner.stopped)
        #expect(registry.all("daemon").isEmpty, "no second client")
        // Its events now pass as the daemon back end's.
        watcher.inner.send(.resolved(service("bob"), interfaceIndex: 2, protocolIsIPv6: false))
        try await output.waitUntil { $0.last == "resolved bob" }
        // Gone for good: the embedded stack and a new watcher take over.
        watcher.inner.send(.daemonUnavailable("gone"))
        let embedded = try await registry.waitFor("embedded")
        #expect(watcher.inner.stopped)
        let second = try await registry.waitForPromotable(count: 2)
        #expect(second.promotion == nil, "the new watcher only watches")
        embedded.send(.using(.embedded))
        try await output.waitUntil { $0.suffix(2) == ["unavailable", "using embedded"] }
        await auto.stop()
        #expect(embedded.stopped && second.inner.stopped)
    }

    @Test func withoutADaemonTheEmbeddedStackRunsAndOnlyItsEventsPass() async throws {
        let registry = Registry()
        let auto = makeSwitch(registry)
        let output = Output(auto.start(advert: advert))
        let watcher = try await registry.waitFor("watcher")
        watcher.send(.daemonUnavailable("no bus"))
        let embedded = try await registry.waitFor("embedded")
        #expect(embedded.advert == advert)
        embedded.send(.using(.embedded))
        embedded.send(.resolved(service("bob"), interfaceIndex: 2, protocolIsIPv6: false))
        // The watcher's own news is not the agent's business.
        watcher.send(.daemonUnavailable("still no bus"))
        try await output.waitUntil { $0 == ["using embedded", "resolved bob"] }
        #expect(!watcher.stopped)
        await auto.stop()
        #expect(embedded.stopped && watcher.stopped)
    }

    @Test func aDaemonThatAppearsTakesOverAndTheEmbeddedRecordsAreWithdrawn() async throws {
        let registry = Registry()
        let auto = makeSwitch(registry)
        let output = Output(auto.start(advert: advert))
        let watcher = try await registry.waitFor("watcher")
        watcher.send(.daemonUnavailable("not running"))
        let embedded = try await registry.waitFor("embedded")
        embedded.send(.resolved(service("bob"), interfaceIndex: 2, protocolIsIPv6: false))
        embedded.send(.resolved(service("carol"), interfaceIndex: 2, protocolIsIPv6: true))
        embedded.send(.removed(instanceName: "carol", interfaceIndex: 2, protocolIsIPv6: true))
        try await output.waitUntil { $0.count == 3 }
        watcher.send(.daemonAvailable)
        let daemon = try await registry.waitFor("daemon")
        #expect(embedded.stopped)
        #expect(watcher.stopped)
        #expect(daemon.advert == advert)
        // A late event of the stopped stack is dropped.
        embedded.send(.resolved(service("zombie"), interfaceIndex: 2, protocolIsIPv6: false))
        daemon.send(.resolved(service("bob"), interfaceIndex: 2, protocolIsIPv6: false))
        try await output.waitUntil {
            $0 == ["resolved bob", "resolved carol", "removed carol", "removed bob", "resolved bob"]
        }
        await auto.stop()
    }

    @Test func aDaemonGoneForGoodHandsBackToTheEmbeddedStack() async throws {
        let registry = Registry()
        let auto = makeSwitch(registry, fallback: .milliseconds(100))
        let output = Output(auto.start(advert: advert))
        try await registry.waitFor("watcher").send(.daemonAvailable)
        let daemon = try await registry.waitFor("daemon")
        // A restart (back within the delay) does not switch.
        daemon.send(.daemonUnavailable("restarting"))
        daemon.send(.daemonAvailable)
        try await Task.sleep(for: .milliseconds(300))
        #expect(registry.all("embedded").isEmpty)
        daemon.send(.daemonUnavailable("gone"))
        let embedded = try await registry.waitFor("embedded")
        #expect(daemon.stopped)
        let watcher = try await registry.waitFor("watcher", count: 2)
        #expect(!watcher.stopped)
        embedded.send(.using(.embedded))
        try await output.waitUntil { $0 == ["unavailable", "available", "unavailable", "using embedded"] }
        await auto.stop()
    }
}
