// Two timers on the poll: the retry timer (whatever failed is retried by one
// idempotent "reconcile") and the refresh timer (records resolved again now and then).

internal import CAvahiClient
import Foundation

extension AvahiSession {
    /// Creates the retry timer, disarmed, and the refresh timer, first firing in
    /// `ResolvePolicy.refreshTickMilliseconds`.
    func createTimersLocked() {
        retryTimer = loop.makeTimer(for: self, after: nil) { _, userdata in
            Context.from(userdata)?.session.retryLocked()
        }
        refreshTimer = loop.makeTimer(for: self, after: ResolvePolicy.refreshTickMilliseconds) { _, userdata in
            Context.from(userdata)?.session.refreshTickLocked()
        }
        if retryTimer == nil || refreshTimer == nil {
            logger.info("could not create an Avahi timer; failures will not be retried")
        }
    }

    /// Every `refreshTick` (poll thread): resolves again the records whose refresh is due.
    func refreshTickLocked() {
        guard !shuttingDown, let refreshTimer else { return }
        loop.set(refreshTimer, afterMilliseconds: ResolvePolicy.refreshTickMilliseconds)
        guard let client = client?.pointer, !clientFailed,
              avahi_client_get_state(client) == AVAHI_CLIENT_S_RUNNING else { return }
        refreshResolversLocked(client)
    }

    /// Runs on the poll thread when the timer fires: replaces a dead or missing client,
    /// or re-creates the entry group, browser and resolvers that failed.
    func retryLocked() {
        retryArmed = false
        if let retryTimer { loop.set(retryTimer, afterMilliseconds: nil) }
        guard !shuttingDown else { return }
        if client == nil || clientFailed {
            if let client {
                client.free { avahi_client_free($0) }
                self.client = nil
            }
            clientFailed = false
            connectLocked()
            return
        }
        guard !watchOnly, let client = client?.pointer, avahi_client_get_state(client) == AVAHI_CLIENT_S_RUNNING else { return }
        publishLocked(client)
        ensureBrowserLocked(client)
        retryResolversLocked(client)
    }
}
