import PeershareCore

/// `--limit-rate`, `limit_rate` and `limit_rate_total`: the sender paces the file data it
/// hands to the channel, so the rate shows in the progress events (rate and time left) too.
extension SenderSession {
    /// The most one data piece may hold: under a limit, short pieces keep the pauses short.
    var pieceLimit: UInt64 { rateLimits.map { UInt64($0.pieceBytes) }.min() ?? .max }

    /// Accounts for `count` bytes of file data and, when a limit says so, waits. What is
    /// batched goes to the socket before the pause, so a pause never holds back data the
    /// limits already counted.
    func pace(_ count: Int, on secure: SecureChannel) async throws(AgentError) {
        guard !rateLimits.isEmpty else { return }
        let wait = rateLimits.map { $0.delay(after: count) }.max() ?? .zero
        guard wait > .zero else { return }
        try secure.sealBatch()
        try await secure.io.flush()
        do {
            try await Task.sleep(for: wait)
        } catch {
            throw AgentError(.cancelled, "Cancelled.")
        }
    }
}
