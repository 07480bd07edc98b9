// One run of the Avahi back end: the threaded poll, its lifecycle and its retry timer.

internal import CAvahiClient
import Foundation
import Logging

/// Everything between one `start` and one `stop`: an `AvahiThreadedPoll`, one
/// `AvahiClient` at a time (replaced after the daemon or D-Bus went away), the entry
/// group for our advert, one service browser and one service resolver per record.
///
/// Locking invariant (why `@unchecked Sendable` is sound): every `var` below is read
/// and written only with the threaded poll's lock held, either inside an Avahi
/// callback (the poll thread runs callbacks with its lock held, so they never take it
/// again) or between `avahi_threaded_poll_lock`/`_unlock` on another thread. Methods
/// whose names end in `Locked` require that lock. The `let`s are immutable, the
/// continuation and the logger are Sendable, and `lifecycle` has its own lock.
final class AvahiSession: @unchecked Sendable {
    let serviceType: String
    let logger: Logger
    let continuation: AsyncStream<DiscoveryEvent>.Continuation
    /// The `AvahiThreadedPoll*`; freed by `shutdown()`.
    private let poll: OpaquePointer
    /// Its `AvahiPoll` vtable (`avahi_threaded_poll_get`): timeouts and the client use it.
    let pollAPI: UnsafePointer<AvahiPoll>
    private let lifecycle = LockedValue(Lifecycle.created)

    /// Whether the poll thread was started and whether the poll was freed.
    enum Lifecycle: Sendable {
        case created, running, stopped
    }

    let advert: ServiceAdvert?
    /// Our current instance name: the advert's, or Avahi's alternative after a collision.
    var instanceName: String
    var client: AvahiHandle?
    /// The client reported AVAHI_CLIENT_FAILURE: it is dead and must be replaced.
    var clientFailed = false
    var group: AvahiHandle?
    var browser: AvahiHandle?
    var resolvers: [ResolverKey: ResolverSlot] = [:]
    var retryTimer: AvahiHandle?
    var retryArmed = false
    var refreshTimer: AvahiHandle?
    /// nil before the first report; then whether daemonAvailable (true) or
    /// daemonUnavailable (false) was sent last, so each outage is reported once.
    var reportedAvailable: Bool?
    var shuttingDown = false

    /// `avahi_threaded_poll_new`; nil if the event loop cannot be created.
    init?(serviceType: String, advert: ServiceAdvert?, logger: Logger,
          continuation: AsyncStream<DiscoveryEvent>.Continuation) {
        guard let poll = avahi_threaded_poll_new() else { return nil }
        guard let api = avahi_threaded_poll_get(poll) else {
            avahi_threaded_poll_free(poll)
            return nil
        }
        self.poll = poll
        self.pollAPI = api
        self.serviceType = serviceType
        self.advert = advert
        self.instanceName = advert?.instanceName ?? ""
        self.logger = logger
        self.continuation = continuation
    }

    /// Creates the retry timer and the first client, then starts the poll thread
    /// (`avahi_threaded_poll_start`). If the thread cannot start, reports that and ends
    /// the stream. Does nothing if the session was already shut down.
    func begin() {
        let started = lifecycle.withLock { state -> Bool in
            guard state == .created else { return true }
            avahi_threaded_poll_lock(poll)
            createTimersLocked()
            connectLocked()
            avahi_threaded_poll_unlock(poll)
            guard avahi_threaded_poll_start(poll) >= 0 else { return false }
            state = .running
            return true
        }
        if !started {
            logger.info("could not start the Avahi event loop thread")
            yield(.daemonUnavailable("could not start the Avahi event loop thread"))
            shutdown()
        }
    }

    /// Frees every Avahi object under the poll lock (withdrawing our advert), stops and
    /// frees the poll thread (`avahi_threaded_poll_stop`/`_free`, never from the poll
    /// thread itself) and finishes the event stream. Safe to call more than once and
    /// concurrently with `begin()`: both run under `lifecycle`, which the poll thread
    /// never takes, so joining the thread while holding it cannot deadlock.
    func shutdown() {
        let freed = lifecycle.withLock { state -> Bool in
            guard state != .stopped else { return false }
            let threadRunning = state == .running
            state = .stopped
            avahi_threaded_poll_lock(poll)
            shuttingDown = true
            dropObjectsLocked()
            if let client {
                client.free { avahi_client_free($0) }
                self.client = nil
            }
            let api = pollAPI
            retryTimer?.free { api.pointee.timeout_free?($0) }
            retryTimer = nil
            refreshTimer?.free { api.pointee.timeout_free?($0) }
            refreshTimer = nil
            avahi_threaded_poll_unlock(poll)
            if threadRunning { avahi_threaded_poll_stop(poll) }
            avahi_threaded_poll_free(poll)
            return true
        }
        if freed { continuation.finish() }
    }

    func yield(_ event: DiscoveryEvent) {
        continuation.yield(event)
    }

    /// Frees the entry group, browser and resolvers (their `avahi_*_free`), e.g. because
    /// the client died. Emits nothing: the caller reports the outage.
    func dropObjectsLocked() {
        for (key, slot) in resolvers {
            slot.handle?.free { avahi_service_resolver_free($0) }
            resolvers[key] = nil
        }
        if let browser {
            browser.free { avahi_service_browser_free($0) }
            self.browser = nil
        }
        if let group {
            group.free { avahi_entry_group_free($0) }
            self.group = nil
        }
    }

    /// Sends `daemonUnavailable` unless it was already sent for this outage.
    func reportUnavailableLocked(_ message: String) {
        guard reportedAvailable != false else { return }
        reportedAvailable = false
        logger.info("mDNS discovery unavailable", metadata: ["discovery.reason": "\(message)"])
        yield(.daemonUnavailable(message))
    }

    func reportAvailableLocked() {
        guard reportedAvailable != true else { return }
        reportedAvailable = true
        logger.info("mDNS discovery available")
        yield(.daemonAvailable)
    }
}
