// One run of the embedded back end: Avahi's mDNS stack (libavahi-core) inside this
// process, on a threaded poll, with no daemon and no D-Bus.

// avahi-common/defs.h (server, browser and resolver states) is shared by both C
// modules and Swift sees its constants through CAvahiClient.
internal import CAvahiClient
internal import CAvahiCoreLoader
import Foundation
import Logging

/// Everything between one `start` and one `stop` of ``AvahiEmbeddedDiscovery``: an
/// `AvahiServer` (the whole mDNS responder and querier, bound to UDP 5353 with
/// SO_REUSEADDR so other stacks on the machine keep working), the entry group of our
/// advert, one service browser and one resolver per record.
///
/// Locking invariant (why `@unchecked Sendable` is sound): every `var` below is read
/// and written only with the threaded poll's lock held, either inside an Avahi
/// callback (the poll thread runs callbacks with its lock held) or inside
/// `loop.start`/`loop.stop`. Methods whose names end in `Locked` require that lock.
/// libavahi-core is not thread-safe, which this lock also covers.
final class EmbeddedSession: PublishingSession, @unchecked Sendable {
    typealias Context = CallbackContext<EmbeddedSession>
    typealias Handle = AvahiHandle<EmbeddedSession>

    let serviceType: String
    let logger: Logger
    let continuation: AsyncStream<DiscoveryEvent>.Continuation
    let loop: ThreadedPoll
    let advert: ServiceAdvert?
    let interfaces: InterfaceFilter
    /// Our current instance name: the advert's, or an alternative after a collision.
    var instanceName: String
    var server: Handle?
    /// The server reported AVAHI_SERVER_FAILURE: it must be freed and created again
    /// (not inside its own callback).
    var serverFailed = false
    var group: Handle?
    var browser: Handle?
    var resolvers = ResolverTable<EmbeddedSession>()
    var retryTimer: Handle?
    var retryArmed = false
    var refreshTimer: Handle?
    var availability = AvailabilityReport()
    var shuttingDown = false

    init?(serviceType: String, advert: ServiceAdvert?, interfaces: InterfaceFilter, logger: Logger,
          continuation: AsyncStream<DiscoveryEvent>.Continuation) {
        guard let loop = ThreadedPoll() else { return nil }
        self.loop = loop
        self.serviceType = serviceType
        self.advert = advert
        self.interfaces = interfaces
        self.instanceName = advert?.instanceName ?? ""
        self.logger = logger
        self.continuation = continuation
    }

    /// Creates the timers and the server, then starts the poll thread. If the thread
    /// cannot start, reports that and ends the stream.
    func begin() {
        yield(.using(.embedded))
        let started = loop.start {
            retryTimer = loop.makeTimer(for: self, after: nil) { _, userdata in
                Context.from(userdata)?.session.retryLocked()
            }
            refreshTimer = loop.makeTimer(for: self, after: ResolvePolicy.refreshTickMilliseconds) { _, userdata in
                Context.from(userdata)?.session.refreshTickLocked()
            }
            createServerLocked()
        }
        if !started {
            yield(.daemonUnavailable("could not start the embedded mDNS stack's event loop thread"))
            shutdown()
        }
    }

    /// Withdraws our advert, frees every Avahi object and the loop, and ends the event
    /// stream. Idempotent. Freeing the entry group only queues the goodbye packets
    /// (records with TTL 0 that make peers drop us at once); the poll thread sends them
    /// on its next turn, so it gets a moment before the server is freed. Without that,
    /// peers would list a stopped agent until its records expire (the LAN lab shows it).
    func shutdown() {
        let withdrawing = loop.whileRunning {
            if let group {
                group.free { pscore_entry_group_free($0) }
                self.group = nil
            }
        }
        if withdrawing { Thread.sleep(forTimeInterval: 0.3) }
        let freed = loop.stop {
            shuttingDown = true
            dropServerLocked()
            if let retryTimer { loop.free(retryTimer) }
            retryTimer = nil
            if let refreshTimer { loop.free(refreshTimer) }
            refreshTimer = nil
        }
        if freed { continuation.finish() }
    }

    func yield(_ event: DiscoveryEvent) {
        continuation.yield(event)
    }

    /// `avahi_server_new` with a configuration for one application: IPv4 and IPv6, only
    /// the allowed interfaces, no HINFO, workstation or wide-area records. Without an
    /// advert (a one-off browse) nothing at all is published, not even address records.
    /// The host name is the machine's (`gethostname`), the one avahi-daemon would use: our
    /// records (also the reverse PTR records of our addresses, which this configuration
    /// cannot leave out) are then identical to a daemon's on this machine, so a daemon that
    /// starts here, or runs next to `--discovery embedded`, sees no conflict. With a name
    /// of our own from the start, a daemon starting here did not get to "running" while
    /// we ran (LAN lab). A clash with another machine is handled by ``renameHostLocked(_:)``.
    func createServerLocked() {
        var config = AvahiServerConfig()
        pscore_server_config_init(&config)
        defer { pscore_server_config_free(&config) }
        config.use_ipv4 = 1
        config.use_ipv6 = 1
        config.publish_hinfo = 0
        config.publish_workstation = 0
        config.publish_domain = 0
        config.enable_wide_area = 0
        config.publish_aaaa_on_ipv4 = 1
        config.publish_a_on_ipv6 = 0
        config.disallow_other_stacks = 0
        config.publish_addresses = advert == nil ? 0 : 1
        config.disable_publishing = advert == nil ? 1 : 0
        for name in interfaces.names {
            config.allow_interfaces = avahi_string_list_add(config.allow_interfaces, name)
        }
        let context = Unmanaged.passRetained(Context(session: self))
        var error: Int32 = 0
        // The callback may run inside avahi_server_new, before `server` is set.
        let created = pscore_server_new(loop.api, &config, { server, state, userdata in
            Context.from(userdata)?.session.serverStateChangedLocked(server, state)
        }, context.toOpaque(), &error)
        guard let created else {
            context.release()
            reportUnavailableLocked("the embedded mDNS stack could not start (\(AvahiValues.errorText(error))); retrying every 5 seconds")
            armRetryLocked(afterMilliseconds: 5000)
            return
        }
        server = Handle(pointer: created, context: context)
        reportAvailableLocked()
        ensureBrowserLocked(created)
        if pscore_server_get_state(created) == AVAHI_SERVER_RUNNING {
            publishLocked(created)
        }
    }

    /// Server state callback (poll thread, lock held).
    func serverStateChangedLocked(_ server: OpaquePointer?, _ state: AvahiServerState) {
        guard let server, !shuttingDown else { return }
        switch state {
        case AVAHI_SERVER_RUNNING:
            // Our host name is established: (re)publish the service on it.
            publishLocked(server)
        case AVAHI_SERVER_COLLISION:
            // Another machine owns our host name: pick "name-2" and probe again. Our
            // service must be added again once the server is RUNNING.
            if let group { pscore_entry_group_reset(group.pointer) }
            renameHostLocked(server)
        case AVAHI_SERVER_REGISTERING:
            if let group { pscore_entry_group_reset(group.pointer) }
        case AVAHI_SERVER_FAILURE:
            serverFailed = true
            reportUnavailableLocked("the embedded mDNS stack failed (\(AvahiValues.errorText(pscore_server_errno(server)))); restarting it")
            armRetryLocked(afterMilliseconds: 2000)
        default:
            break
        }
    }

    /// Another machine has our host name: take ``AvahiValues/nextHostName(current:publicKey:)``
    /// (`avahi_server_set_host_name`). Many machines share a host name (fresh installs,
    /// cloned VMs, containers); two stacks that lose one name in the same instant and
    /// both try "vm-2", then "vm-3", ... rename in lockstep and may never settle (neither
    /// was ever found in a third of the LAN lab's runs). A name made from our key cannot
    /// clash, so both stop after one rename.
    func renameHostLocked(_ server: OpaquePointer) {
        guard let currentPointer = pscore_server_get_host_name(server) else { return }
        let current = String(cString: currentPointer)
        guard let alternative = AvahiValues.nextHostName(current: current, publicKey: advert?.txt[TXTKeys.publicKey])
        else { return }
        logger.info("host name collision; renaming", metadata: [
            "discovery.host": "\(current)", "discovery.newHost": "\(alternative)",
        ])
        let result = pscore_server_set_host_name(server, alternative)
        if result < 0 {
            logger.info("could not change the host name", metadata: ["discovery.error": "\(AvahiValues.errorText(result))"])
        }
    }

    /// Frees resolvers, browser, entry group and the server (in that order: every object
    /// hangs off the server).
    func dropServerLocked() {
        for handle in resolvers.removeAll() {
            handle.free { pscore_service_resolver_free($0) }
        }
        if let browser {
            browser.free { pscore_service_browser_free($0) }
            self.browser = nil
        }
        if let group {
            group.free { pscore_entry_group_free($0) }
            self.group = nil
        }
        if let server {
            server.free { pscore_server_free($0) }
            self.server = nil
        }
        serverFailed = false
    }

    /// Retry timer (poll thread): replaces a failed or missing server, or re-creates
    /// the entry group, browser and resolvers that could not be created.
    func retryLocked() {
        retryArmed = false
        if let retryTimer { loop.set(retryTimer, afterMilliseconds: nil) }
        guard !shuttingDown else { return }
        if server == nil || serverFailed {
            dropServerLocked()
            createServerLocked()
            return
        }
        guard let server = server?.pointer else { return }
        ensureBrowserLocked(server)
        if pscore_server_get_state(server) == AVAHI_SERVER_RUNNING { publishLocked(server) }
        retryResolversLocked()
    }

    /// Refresh timer (poll thread): resolves again the records whose refresh is due.
    func refreshTickLocked() {
        guard !shuttingDown, let refreshTimer else { return }
        loop.set(refreshTimer, afterMilliseconds: ResolvePolicy.refreshTickMilliseconds)
        guard server != nil, !serverFailed else { return }
        refreshResolversLocked()
    }

    func reportUnavailableLocked(_ message: String) {
        guard availability.becameUnavailable() else { return }
        logger.info("mDNS discovery unavailable", metadata: ["discovery.reason": "\(message)"])
        yield(.daemonUnavailable(message))
    }

    func reportAvailableLocked() {
        guard availability.becameAvailable() else { return }
        logger.info("embedded mDNS stack running")
        yield(.daemonAvailable)
    }
}
