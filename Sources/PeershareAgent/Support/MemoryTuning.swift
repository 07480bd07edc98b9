internal import CPeershareSys

/// Process-wide allocator settings for an agent.
///
/// Transfers allocate 256–512 KiB buffers on one thread (the session's task) and free them
/// on another (NIO's event loop, after the socket took the bytes). glibc gives every thread
/// its own malloc arena and keeps freed memory in each, so with the default arena count an
/// agent's peak RSS grows during a large send; two arenas keep it lower at no cost in
/// throughput (BENCHMARKS.md).
public enum MemoryTuning {
    /// `mallopt(M_ARENA_MAX, 2)`. Call once, early in `main`, before threads start allocating.
    public static func apply() {
        _ = psys_set_malloc_arena_max(2)
    }
}
