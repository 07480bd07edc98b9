// The discovery back end that talks to the system's avahi-daemon through libavahi-client.

import Foundation
import NIOConcurrencyHelpers
import Logging

/// Publishes and browses through avahi-daemon (libavahi-client over D-Bus, driven by an
/// `AvahiThreadedPoll`). Survives daemon restarts: the client is created with
/// `AVAHI_CLIENT_NO_FAIL` and replaced when it dies, and the advert and browser are
/// recreated once the daemon runs again.
public final class AvahiDaemonDiscovery: PromotableDiscovery {
    private let serviceType: String
    private let logger: Logger
    private let interfaces: InterfaceFilter
    private let watchOnly: Bool
    private let current = NIOLockedValueBox<AvahiSession?>(nil)

    /// `watchOnly`: only report whether the daemon is available (no publishing or
    /// browsing), which is how ``AutoDiscovery`` notices a daemon while it runs the
    /// embedded stack.
    public init(serviceType: String = "_peershare._tcp", interfaces: InterfaceFilter = InterfaceFilter(),
                watchOnly: Bool = false, logger: Logger) {
        self.serviceType = serviceType
        self.logger = logger
        self.interfaces = interfaces
        self.watchOnly = watchOnly
    }

    /// Starts a session (stopping a previous one first). If the event loop cannot even
    /// be created, the stream carries one `daemonUnavailable` and ends.
    public func start(advert: ServiceAdvert?) -> AsyncStream<DiscoveryEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: DiscoveryEvent.self, bufferingPolicy: .unbounded)
        guard let session = AvahiSession(serviceType: serviceType, advert: advert, interfaces: interfaces,
                                         watchOnly: watchOnly, logger: logger, continuation: continuation) else {
            continuation.yield(.daemonUnavailable("could not create the Avahi event loop (avahi_threaded_poll_new failed)"))
            continuation.finish()
            return stream
        }
        // If the consumer stops listening, free everything; shutdown() is idempotent and
        // must not run on the poll thread, hence a detached task. The strong capture is a
        // cycle only until the stream terminates, which every path ends with (shutdown()
        // calls finish(), and finish releases this closure).
        continuation.onTermination = { _ in
            Task.detached { session.shutdown() }
        }
        // Swap in one step, so that concurrent starts cannot leave a session running
        // that nobody can stop; a stop() racing with begin() is handled by the session.
        let previous = current.withLockedValue { slot -> AvahiSession? in
            defer { slot = session }
            return slot
        }
        previous?.shutdown()
        session.begin()
        return stream
    }

    /// A watch-only back end starts publishing `advert` and browsing, on the client it
    /// already has (see ``AvahiSession/promote(advert:)``); its stream then carries the
    /// full back end's events. False if it is not running or not watch-only.
    public func promote(advert: ServiceAdvert?) -> Bool {
        guard watchOnly, let session = current.withLockedValue({ $0 }) else { return false }
        return session.promote(advert: advert)
    }

    /// Withdraws the advert, frees every Avahi object and ends the event stream.
    /// Blocks briefly on D-Bus calls and on joining the poll thread.
    public func stop() async {
        let session = current.withLockedValue { session -> AvahiSession? in
            defer { session = nil }
            return session
        }
        session?.shutdown()
    }

    deinit {
        current.withLockedValue { $0 }?.shutdown()
    }
}
