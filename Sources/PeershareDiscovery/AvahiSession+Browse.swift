// Browsing the service type and resolving every record it reports.

internal import CAvahiClient
import Foundation

extension AvahiSession {
    /// `avahi_service_browser_new` on all interfaces (AVAHI_IF_UNSPEC) and both protocols
    /// (AVAHI_PROTO_UNSPEC). One browser stays open for the whole session: Avahi then
    /// reports every arrival and departure, so "who is there" is answered from our table.
    func ensureBrowserLocked(_ client: OpaquePointer) {
        guard browser == nil else { return }
        let context = Unmanaged.passRetained(Context(session: self))
        guard let created = avahi_service_browser_new(
            client, AvahiIfIndex(AVAHI_IF_UNSPEC), AvahiProtocol(AVAHI_PROTO_UNSPEC), serviceType, nil,
            AvahiLookupFlags(rawValue: 0),
            { browser, interface, proto, event, name, type, domain, flags, userdata in
                Context.from(userdata)?.session.browserEventLocked(
                    browser, interface, proto, event, name, domain)
            }, context.toOpaque())
        else {
            context.release()
            logger.info("could not start browsing; retrying",
                        metadata: ["discovery.error": "\(AvahiValues.clientErrorText(client))"])
            armRetryLocked(afterMilliseconds: 2000)
            return
        }
        browser = AvahiHandle(pointer: created, context: context)
    }

    /// Browser callback (poll thread, lock held).
    func browserEventLocked(_ browser: OpaquePointer?, _ interface: AvahiIfIndex, _ proto: AvahiProtocol,
                            _ event: AvahiBrowserEvent, _ name: UnsafePointer<CChar>?,
                            _ domain: UnsafePointer<CChar>?) {
        guard let browser, !shuttingDown else { return }
        if event == AVAHI_BROWSER_NEW || event == AVAHI_BROWSER_REMOVE,
           !interfaces.allows(AvahiValues.interfaceName(interface)) { return }
        switch event {
        case AVAHI_BROWSER_NEW:
            guard let name, let domain else { return }
            let key = ResolverKey(interface: interface, proto: proto, name: String(cString: name), domain: String(cString: domain))
            guard resolvers.add(key) else { return }
            startResolverLocked(key, client: avahi_service_browser_get_client(browser))
        case AVAHI_BROWSER_REMOVE:
            guard let name, let domain else { return }
            let key = ResolverKey(interface: interface, proto: proto, name: String(cString: name), domain: String(cString: domain))
            resolvers.remove(key)?.free { avahi_service_resolver_free($0) }
            yield(.removed(instanceName: key.name, interfaceIndex: interface, protocolIsIPv6: key.isIPv6))
        case AVAHI_BROWSER_FAILURE:
            logger.info("browsing failed; retrying",
                        metadata: ["discovery.error": "\(AvahiValues.clientErrorText(avahi_service_browser_get_client(browser)))"])
            if let owned = self.browser, owned.pointer == browser {
                owned.free { avahi_service_browser_free($0) }
                self.browser = nil
            }
            armRetryLocked(afterMilliseconds: 2000)
        default:
            // ALL_FOR_NOW and CACHE_EXHAUSTED: the browser stays open, nothing to do.
            break
        }
    }
}
