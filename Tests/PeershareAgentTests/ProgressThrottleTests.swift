import Testing
@testable import PeershareAgent
@testable import PeershareTransfer

/// Progress events' rate is measured over the last few seconds, from where streaming began.
@Suite("Progress rate")
struct ProgressThrottleTests {
    @Test("the first call only marks the start; later due events carry the recent rate and the time left")
    func recentRate() {
        let throttle = ProgressThrottle(interval: .milliseconds(250), span: .seconds(2))
        let start = ContinuousClock.now
        #expect(!throttle.due(bytes: 0, now: start))
        #expect(throttle.rate == nil)
        #expect(!throttle.due(bytes: 10, now: start + .milliseconds(100)), "not due within the interval")
        #expect(throttle.due(bytes: 1_000, now: start + .seconds(1)))
        var event = AgentEvent.Progress(transfer: "t", bytes: 1_000, totalBytes: 3_000)
        throttle.addRate(to: &event)
        #expect(event.rate == 1_000)
        #expect(event.eta == 2)
        // Then the transfer slows down: after the span, the old fast second no longer counts.
        #expect(throttle.due(bytes: 1_100, now: start + .seconds(2)))
        #expect(throttle.due(bytes: 1_200, now: start + .seconds(3)))
        #expect(throttle.due(bytes: 1_300, now: start + .seconds(4)))
        #expect(throttle.rate == 100)
    }
}
