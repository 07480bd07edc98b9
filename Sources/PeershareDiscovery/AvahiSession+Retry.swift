// The single retry timer: whatever failed is retried by one idempotent "reconcile".

internal import CAvahiClient
import Foundation

extension AvahiSession {
    /// Creates a disarmed timer with the poll's `timeout_new` (a NULL timeval disarms it).
    func createRetryTimerLocked() {
        let context = Unmanaged.passRetained(CallbackContext(session: self))
        let api = pollAPI
        guard let create = api.pointee.timeout_new,
              let timeout = create(api, nil, { _, userdata in
                  CallbackContext.from(userdata)?.session.retryLocked()
              }, context.toOpaque()) else {
            context.release()
            logger.info("could not create the Avahi retry timer; failures will not be retried")
            return
        }
        retryTimer = AvahiHandle(pointer: timeout, context: context)
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
