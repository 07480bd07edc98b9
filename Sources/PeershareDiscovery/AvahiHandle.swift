// Pairs each Avahi object with the Swift context passed as its userdata.

internal import CAvahiClient

/// The userdata of every Avahi object the session creates: who to call back, and for
/// a resolver which record it resolves. Retained once per Avahi object
/// (`Unmanaged.passRetained`) and released only after that object is freed, under the
/// poll lock, so a callback can never see a dangling pointer.
final class CallbackContext: Sendable {
    let session: AvahiSession
    let record: ResolverKey?

    init(session: AvahiSession, record: ResolverKey? = nil) {
        self.session = session
        self.record = record
    }

    /// Recovers the context inside a C callback without touching its retain count.
    static func from(_ userdata: UnsafeMutableRawPointer?) -> CallbackContext? {
        guard let userdata else { return nil }
        return Unmanaged<CallbackContext>.fromOpaque(userdata).takeUnretainedValue()
    }
}

/// An Avahi object (client, entry group, browser, resolver or timeout) and its retained context.
struct AvahiHandle {
    let pointer: OpaquePointer
    let context: Unmanaged<CallbackContext>

    /// Calls the object's `avahi_*_free` and only then releases the context.
    /// Must run with the poll lock held (or before the poll thread started).
    func free(_ freeFunction: (OpaquePointer) -> Void) {
        freeFunction(pointer)
        context.release()
    }
}

/// Identifies one browse result: the same instance on another interface or protocol
/// is another record with its own resolver.
struct ResolverKey: Hashable, Sendable {
    var interface: AvahiIfIndex
    var proto: AvahiProtocol
    var name: String
    var domain: String

    var isIPv6: Bool { proto == AvahiProtocol(AVAHI_PROTO_INET6) }
}

/// One browse result: its resolver while one runs, how many attempts in a row have
/// been made, whether it was ever resolved, and when to resolve it again.
struct ResolverSlot {
    var handle: AvahiHandle?
    var attempts = 0
    var resolved = false
    var refreshDue: ContinuousClock.Instant?
}
