import NIOCore

/// The accept loop both servers share (the peer port and the control socket): every
/// accepted child becomes a task in the caller's task group, so a connection outlives
/// neither the server's cancellation nor a failed accept stream, and never holds up another.
enum Listener {
    /// Accepts from `server` until the task is cancelled (nil) or the accept stream fails
    /// (its error); the server is closed either way. `admit` runs in the accept loop, in
    /// accept order, and returns the connection's work, which runs as a task of `group`.
    static func serve<Child: Sendable>(_ server: NIOAsyncChannel<Child, Never>,
                                       in group: inout ThrowingDiscardingTaskGroup<any Error>,
                                       admit: (Child) -> @Sendable () async -> Void) async -> (any Error)? {
        do {
            try await withTaskCancellationHandler {
                try await server.executeThenClose { inbound in
                    for try await child in inbound {
                        group.addTask(operation: admit(child))
                    }
                }
            } onCancel: {
                server.channel.close(promise: nil)
            }
            return nil
        } catch {
            return error
        }
    }
}
