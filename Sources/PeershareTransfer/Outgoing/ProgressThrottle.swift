/// Rate-limits progress events (a few per second) and gives each its rate and time left.
///
/// The rate is measured over the last `span` of samples (one per due event), not since the
/// start: a transfer that slowed down says so within seconds. The first call to `due` only
/// records where the stream started, so time before streaming (the handshake, a person
/// typing the code) never lowers the rate.
///
/// `@unchecked Sendable` invariant: used only by the one task that runs the session (the
/// class exists so that `due()` can mutate while the session struct stays immutable).
final class ProgressThrottle: @unchecked Sendable {
    private var last = ContinuousClock.now
    private let interval: Duration
    private let span: Duration
    private var samples: [(time: ContinuousClock.Instant, bytes: UInt64)] = []

    init(interval: Duration = .milliseconds(250), span: Duration = .seconds(5)) {
        self.interval = interval
        self.span = span
    }

    /// True when a progress event is due; `bytes` is the count the event will carry.
    func due(bytes: UInt64, now: ContinuousClock.Instant = .now) -> Bool {
        if samples.isEmpty {
            samples.append((now, bytes))
            last = now
            return false
        }
        guard now - last >= interval else { return false }
        last = now
        samples.append((now, bytes))
        while samples.count > 2, let second = samples.dropFirst().first, now - second.time >= span {
            samples.removeFirst()
        }
        return true
    }

    /// Bytes per second over the samples kept, nil before two exist.
    var rate: Double? {
        guard let first = samples.first, let latest = samples.last, samples.count >= 2 else { return nil }
        let seconds = (latest.time - first.time).inSeconds
        guard seconds > 0 else { return nil }
        return Double(latest.bytes &- min(latest.bytes, first.bytes)) / seconds
    }

    /// Sets `event.rate` and, with a positive rate, `event.eta` in seconds.
    func addRate(to event: inout AgentEvent.Progress) {
        guard let rate else { return }
        event.rate = rate.rounded()
        if rate > 0 {
            event.eta = (Double(event.totalBytes - min(event.totalBytes, event.bytes)) / rate * 10).rounded() / 10
        }
    }
}
