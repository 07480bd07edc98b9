// The resolver bookkeeping both discovery back ends share: when a resolver may start,
// when a failed record is tried again, and which answers are stale. No Avahi objects:
// the handles here only carry a pointer value.

import Testing

@testable import PeershareDiscovery

private final class Owner: Sendable {}

private func handle(_ value: Int) -> AvahiHandle<Owner> {
    // The pointer is never dereferenced; it only identifies the resolver.
    AvahiHandle(pointer: OpaquePointer(bitPattern: value)!, context: Unmanaged.passRetained(CallbackContext(session: Owner())))
}

@Suite("Resolver table")
struct ResolverTableTests {
    let key = ResolverKey(interface: 2, proto: 0, name: "bob", domain: "local")

    @Test func aRecordIsAddedOnceAndOneResolverRunsAtATime() {
        var table = ResolverTable<Owner>()
        let added = table.add(key), addedAgain = table.add(key)
        #expect(added && !addedAgain)
        let first = table.beginAttempt(key)
        #expect(first)
        let running = handle(0x10)
        table.attach(running, to: key)
        let whileRunning = table.beginAttempt(key)
        #expect(!whileRunning)
        let removed = table.remove(key)
        #expect(removed?.pointer == running.pointer)
        let afterRemoval = table.beginAttempt(key)
        #expect(!afterRemoval, "a removed record has no resolver to start")
        running.context.release()
    }

    @Test func aNeverResolvedRecordIsRetriedAtOnceThreeTimesThenWaitsForTheRefresh() throws {
        var table = ResolverTable<Owner>()
        _ = table.add(key)
        for attempt in 1...3 {
            let started = table.beginAttempt(key)
            #expect(started)
            let running = handle(0x20 + attempt)
            table.attach(running, to: key)
            let outcomeAnswer = table.finish(key, resolver: running.pointer, found: false)
            let outcome = try #require(outcomeAnswer)
            #expect(outcome.retryNow == (attempt < 3), "attempt \(attempt)")
            running.context.release()
        }
        #expect(table.keysToRetry.isEmpty)
        let dueNow = table.keysToRefresh(now: .now)
        #expect(dueNow.isEmpty, "not due before the refresh interval")
        let dueLater = table.keysToRefresh(now: .now + .seconds(500))
        #expect(dueLater == [key])
    }

    @Test func aResolvedRecordIsNotRetriedAndAStaleAnswerIsIgnored() throws {
        var table = ResolverTable<Owner>()
        _ = table.add(key)
        _ = table.beginAttempt(key)
        let running = handle(0x30)
        table.attach(running, to: key)
        let stale = table.finish(key, resolver: OpaquePointer(bitPattern: 0x99)!, found: true)
        #expect(stale == nil)
        let outcomeAnswer = table.finish(key, resolver: running.pointer, found: true)
        let outcome = try #require(outcomeAnswer)
        #expect(!outcome.retryNow)
        let twice = table.finish(key, resolver: running.pointer, found: true)
        #expect(twice == nil, "answered once already")
        running.context.release()
        _ = table.beginAttempt(key)
        let again = handle(0x31)
        table.attach(again, to: key)
        let failedAnswer = table.finish(key, resolver: again.pointer, found: false)
        let failed = try #require(failedAnswer)
        #expect(!failed.retryNow, "a record resolved before keeps its data until REMOVE")
        again.context.release()
    }

    @Test func anOutageIsReportedOnceAndSoIsTheRecovery() {
        var report = AvailabilityReport()
        let answers = [report.becameUnavailable(), report.becameUnavailable(), report.becameAvailable(),
                       report.becameAvailable(), report.becameUnavailable()]
        #expect(answers == [true, false, true, false, true])
    }
}
