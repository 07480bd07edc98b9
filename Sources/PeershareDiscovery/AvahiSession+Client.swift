// The AvahiClient: its connection to avahi-daemon over D-Bus and its state changes.

internal import CAvahiClient
import Foundation

extension AvahiSession {
    /// `avahi_client_new` with `AVAHI_CLIENT_NO_FAIL`: if avahi-daemon is not on the bus
    /// yet, the client waits in CONNECTING instead of failing. Without a D-Bus system bus
    /// at all even that fails, so then we report it and try again every few seconds.
    func connectLocked() {
        let context = Unmanaged.passRetained(Context(session: self))
        var error: Int32 = 0
        // The callback runs for the first time inside avahi_client_new, before `client`
        // is set, so it works with the pointer it is given.
        let created = avahi_client_new(pollAPI, AVAHI_CLIENT_NO_FAIL, { client, state, userdata in
            Context.from(userdata)?.session.clientStateChangedLocked(client, state)
        }, context.toOpaque(), &error)
        guard let created else {
            context.release()
            reportUnavailableLocked(
                "cannot reach the D-Bus system bus, so the Avahi daemon cannot be asked to "
                    + "publish or browse (\(AvahiValues.errorText(error))); retrying every 5 seconds")
            armRetryLocked(afterMilliseconds: 5000)
            return
        }
        client = AvahiHandle(pointer: created, context: context)
    }

    /// Client state callback (poll thread, lock held).
    func clientStateChangedLocked(_ client: OpaquePointer?, _ state: AvahiClientState) {
        guard let client, !shuttingDown else { return }
        switch state {
        case AVAHI_CLIENT_S_RUNNING:
            // Registered on the network (first time, after a daemon restart, or after a
            // host name change): publish and browse again.
            reportAvailableLocked()
            guard !watchOnly else { return }
            publishLocked(client)
            ensureBrowserLocked(client)
        case AVAHI_CLIENT_S_COLLISION, AVAHI_CLIENT_S_REGISTERING:
            // The daemon's *host* name is being (re)registered; its services are withdrawn
            // and must be added again once it is RUNNING (Avahi's documented pattern).
            if let group { avahi_entry_group_reset(group.pointer) }
        case AVAHI_CLIENT_CONNECTING:
            dropObjectsLocked()
            reportUnavailableLocked("the Avahi daemon (avahi-daemon) is not running; waiting for it to start")
        case AVAHI_CLIENT_FAILURE:
            // Daemon restarted or D-Bus gone: this client is dead (its bus is closed).
            // Free what hangs off it now; the retry timer replaces the client itself.
            let reason = AvahiValues.clientErrorText(client)
            dropObjectsLocked()
            clientFailed = true
            reportUnavailableLocked("lost the connection to the Avahi daemon (\(reason)); reconnecting")
            armRetryLocked(afterMilliseconds: 500)
        default:
            logger.debug("unknown Avahi client state", metadata: ["discovery.state": "\(state.rawValue)"])
        }
    }
}
