internal import CSodium

/// Library set-up for libsodium.
///
/// libsodium must be initialised once (`sodium_init`) before use: it picks the fastest
/// implementations for this CPU and prepares the random number generator.
public enum Sodium {
    /// The result of the one and only `sodium_init()` call. A `static let` is initialised lazily
    /// and exactly once, thread-safely, by the Swift runtime.
    private static let initResult: Int32 = sodium_init()

    /// Initialises libsodium (`sodium_init`). Idempotent and thread-safe: call it at start-up so a
    /// broken installation is reported early; every other entry point of SodiumKit also makes sure
    /// it has run.
    public static func initialize() throws(SodiumError) {
        // sodium_init returns 0 on the first success, 1 when already initialised, -1 on failure.
        guard initResult >= 0 else { throw .initializationFailed }
    }

    /// Runs `sodium_init` if it has not run yet. Used by the entry points that cannot throw:
    /// on the (practically impossible) failure, libsodium's portable fallbacks are still used.
    @inline(__always)
    static func ensureInitialized() {
        _ = initResult
    }
}
