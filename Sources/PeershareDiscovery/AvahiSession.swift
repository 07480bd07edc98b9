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
final class AvahiSession: PublishingSession, @unchecked Sendable {
    typealias Context = CallbackContext<AvahiSession>
    typealias Handle = AvahiHandle<AvahiSession>

    let serviceType: String
    let logger: Logger
    let continuation: AsyncStream<DiscoveryEvent>.Continuation
    let loop: ThreadedPoll
    /// Its `AvahiPoll` vtable: the client uses it.
    var pollAPI: UnsafePointer<AvahiPoll> { loop.api }

    /// What we publish; nil while watching only.
    var advert: ServiceAdvert?
    /// Only report (and publish on) these interfaces; empty: all.
    let interfaces: InterfaceFilter
    /// Only watch the daemon's state (no publishing, no browsing): the auto mode's probe,
    /// until ``promote(advert:)``.
    var watchOnly: Bool
    /// Our current instance name: the advert's, or Avahi's alternative after a collision.
    var instanceName: String
    var client: Handle?
    /// The client reported AVAHI_CLIENT_FAILURE: it is dead and must be replaced.
    var clientFailed = false
    var group: Handle?
    var browser: Handle?
    var resolvers = ResolverTable<AvahiSession>()
    var retryTimer: Handle?
    var retryArmed = false
    var refreshTimer: Handle?
    var availability = AvailabilityReport()
    var shuttingDown = false

    /// `avahi_threaded_poll_new`; nil if the event loop cannot be created.
    init?(serviceType: String, advert: ServiceAdvert?, interfaces: InterfaceFilter, watchOnly: Bool,
          logger: Logger, continuation: AsyncStream<DiscoveryEvent>.Continuation) {
        guard let loop = ThreadedPoll() else { return nil }
        self.loop = loop
        self.serviceType = serviceType
        self.advert = watchOnly ? nil : advert
        self.interfaces = interfaces
        self.watchOnly = watchOnly
        self.instanceName = advert?.instanceName ?? ""
        self.logger = logger
        self.continuation = continuation
    }

    /// Creates the retry timer and the first client, then starts the poll thread.
    /// If the thread cannot start, reports that and ends the stream. Does nothing if
    /// the session was already shut down.
    func begin() {
        yield(.using(.daemon))
        let started = loop.start {
            createTimersLocked()
            connectLocked()
        }
        if !started {
            logger.info("could not start the Avahi event loop thread")
            yield(.daemonUnavailable("could not start the Avahi event loop thread"))
            shutdown()
        }
    }

    /// Frees every Avahi object under the poll lock (withdrawing our advert), stops and
    /// frees the poll thread and finishes the event stream. Safe to call more than once
    /// and concurrently with `begin()`.
    func shutdown() {
        let freed = loop.stop {
            shuttingDown = true
            dropObjectsLocked()
            if let client {
                client.free { avahi_client_free($0) }
                self.client = nil
            }
            if let retryTimer { loop.free(retryTimer) }
            retryTimer = nil
            if let refreshTimer { loop.free(refreshTimer) }
            refreshTimer = nil
        }
        if freed { continuation.finish() }
    }

    /// Makes a watch-only session a full one on the same D-Bus connection: publishes
    /// `advert` and browses at once if the daemon runs, else as soon as it does. The auto
    /// mode's watcher becomes the daemon back end this way instead of being replaced by a
    /// new client: connecting costs about ten D-Bus round trips, which took over a second
    /// per agent when 30 hosts in the LAN lab came up together. False if the session has
    /// ended (nothing was done).
    func promote(advert: ServiceAdvert?) -> Bool {
        var promoted = false
        let running = loop.whileRunning {
            guard watchOnly, !shuttingDown else { return }
            watchOnly = false
            self.advert = advert
            instanceName = advert?.instanceName ?? ""
            promoted = true
            if let client = client?.pointer, !clientFailed, avahi_client_get_state(client) == AVAHI_CLIENT_S_RUNNING {
                publishLocked(client)
                ensureBrowserLocked(client)
            }
        }
        return running && promoted
    }

    func yield(_ event: DiscoveryEvent) {
        continuation.yield(event)
    }

    /// Frees the entry group, browser and resolvers (their `avahi_*_free`), e.g. because
    /// the client died. Emits nothing: the caller reports the outage.
    func dropObjectsLocked() {
        for handle in resolvers.removeAll() {
            handle.free { avahi_service_resolver_free($0) }
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
        guard availability.becameUnavailable() else { return }
        logger.info("mDNS discovery unavailable", metadata: ["discovery.reason": "\(message)"])
        yield(.daemonUnavailable(message))
    }

    func reportAvailableLocked() {
        guard availability.becameAvailable() else { return }
        logger.info("mDNS discovery available")
        yield(.daemonAvailable)
    }
}
