// Two timers on the poll: the retry timer (whatever failed is retried by one
// idempotent "reconcile") and the refresh timer (records resolved again now and then).

internal import CAvahiClient
import Foundation

extension AvahiSession {
    /// Creates the retry timer, disarmed (a NULL timeval), and the refresh timer, first
    /// firing in `refreshTick`, with the poll's `timeout_new`.
    func createTimersLocked() {
        retryTimer = makeTimerLocked(after: nil) { _, userdata in
            CallbackContext.from(userdata)?.session.retryLocked()
        }
        refreshTimer = makeTimerLocked(after: Self.refreshTickMilliseconds) { _, userdata in
            CallbackContext.from(userdata)?.session.refreshTickLocked()
        }
    }

    private func makeTimerLocked(after delay: UInt32?, _ callback: AvahiTimeoutCallback) -> AvahiHandle? {
        let context = Unmanaged.passRetained(CallbackContext(session: self))
        var when = timeval()
        if let delay { avahi_elapse_time(&when, delay, 0) }
        let timeout = withUnsafePointer(to: &when) { whenPointer in
            pollAPI.pointee.timeout_new?(pollAPI, delay == nil ? nil : whenPointer, callback, context.toOpaque())
        }
        guard let timeout else {
            context.release()
            logger.info("could not create an Avahi timer; failures will not be retried")
            return nil
        }
        return AvahiHandle(pointer: timeout, context: context)
    }

    static let refreshTickMilliseconds: UInt32 = 30000

    /// Every `refreshTick` (poll thread): resolves again the records whose refresh is due.
    func refreshTickLocked() {
        guard !shuttingDown, let refreshTimer, let update = pollAPI.pointee.timeout_update else { return }
        var when = timeval()
        avahi_elapse_time(&when, Self.refreshTickMilliseconds, 0)
        update(refreshTimer.pointer, &when)
        guard let client = client?.pointer, !clientFailed,
              avahi_client_get_state(client) == AVAHI_CLIENT_S_RUNNING else { return }
        refreshResolversLocked(client)
    }

    /// Arms the retry timer (`avahi_elapse_time` + `timeout_update`) unless it is armed.
    func armRetryLocked(afterMilliseconds delay: UInt32) {
        guard !retryArmed, !shuttingDown, let retryTimer, let update = pollAPI.pointee.timeout_update else { return }
        var when = timeval()
        avahi_elapse_time(&when, delay, 0)
        update(retryTimer.pointer, &when)
        retryArmed = true
    }

    /// Runs on the poll thread when the timer fires: replaces a dead or missing client,
    /// or re-creates the entry group, browser and resolvers that failed.
    func retryLocked() {
        retryArmed = false
        if let update = pollAPI.pointee.timeout_update, let retryTimer {
            update(retryTimer.pointer, nil)
        }
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
        guard let client = client?.pointer, avahi_client_get_state(client) == AVAHI_CLIENT_S_RUNNING else { return }
        publishLocked(client)
        ensureBrowserLocked(client)
        retryResolversLocked(client)
    }
}
