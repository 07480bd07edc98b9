// Browsing the service type and resolving every record it reports.

internal import CAvahiClient
import Foundation

extension AvahiSession {
    /// `avahi_service_browser_new` on all interfaces (AVAHI_IF_UNSPEC) and both protocols
    /// (AVAHI_PROTO_UNSPEC). One browser stays open for the whole session: Avahi then
    /// reports every arrival and departure, so "who is there" is answered from our table.
    func ensureBrowserLocked(_ client: OpaquePointer) {
        guard browser == nil else { return }
        let context = Unmanaged.passRetained(CallbackContext(session: self))
        guard let created = avahi_service_browser_new(
            client, AvahiIfIndex(AVAHI_IF_UNSPEC), AvahiProtocol(AVAHI_PROTO_UNSPEC), serviceType, nil,
            AvahiLookupFlags(rawValue: 0),
            { browser, interface, proto, event, name, type, domain, flags, userdata in
                CallbackContext.from(userdata)?.session.browserEventLocked(
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
        switch event {
        case AVAHI_BROWSER_NEW:
            guard let name, let domain else { return }
            let key = ResolverKey(interface: interface, proto: proto, name: String(cString: name), domain: String(cString: domain))
            guard resolvers[key] == nil else { return }
            resolvers[key] = ResolverSlot(handle: nil, attempts: 0)
            startResolverLocked(key, client: avahi_service_browser_get_client(browser))
        case AVAHI_BROWSER_REMOVE:
            guard let name, let domain else { return }
            let key = ResolverKey(interface: interface, proto: proto, name: String(cString: name), domain: String(cString: domain))
            if let slot = resolvers.removeValue(forKey: key) {
                slot.handle?.free { avahi_service_resolver_free($0) }
            }
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

    /// `avahi_service_resolver_new` for one record, asking for an address of the same
    /// family as the record's protocol, so a host seen over IPv4 and IPv6 yields both.
    /// The resolver stays open: Avahi reports FOUND again when SRV, TXT or address change.
    func startResolverLocked(_ key: ResolverKey, client: OpaquePointer?) {
        guard let client, var slot = resolvers[key] else { return }
        slot.attempts += 1
        let context = Unmanaged.passRetained(CallbackContext(session: self, record: key))
        let created = avahi_service_resolver_new(
            client, key.interface, key.proto, key.name, serviceType, key.domain, key.proto,
            AvahiLookupFlags(rawValue: 0),
            { resolver, interface, proto, event, name, _, _, host, address, port, txt, _, userdata in
                guard let context = CallbackContext.from(userdata), let key = context.record else { return }
                context.session.resolverEventLocked(
                    resolver, key, event, ResolverResult(name: name, host: host, address: address, port: port, txt: txt))
            }, context.toOpaque())
        if let created {
            slot.handle = AvahiHandle(pointer: created, context: context)
        } else {
            context.release()
            logger.debug("could not start a resolver", metadata: ["discovery.instance": "\(key.name)"])
            armRetryLocked(afterMilliseconds: 2000)
        }
        resolvers[key] = slot
    }

    /// Restarts resolvers that could not be created (called by the retry timer).
    func retryResolversLocked(_ client: OpaquePointer) {
        for (key, slot) in resolvers where slot.handle == nil && slot.attempts < 3 {
            startResolverLocked(key, client: client)
        }
    }

    /// Resolver callback (poll thread, lock held).
    func resolverEventLocked(_ resolver: OpaquePointer?, _ key: ResolverKey, _ event: AvahiResolverEvent,
                             _ result: ResolverResult) {
        guard let resolver, !shuttingDown, var slot = resolvers[key], slot.handle?.pointer == resolver else { return }
        switch event {
        case AVAHI_RESOLVER_FOUND:
            guard let service = result.service(key) else { return }
            slot.attempts = 0
            resolvers[key] = slot
            yield(.resolved(service, interfaceIndex: key.interface, protocolIsIPv6: key.isIPv6))
        default:
            // Timed out or failed: free it (allowed inside its own callback) and try again
            // a few times; the record stays known so a later REMOVE still clears it.
            let client = avahi_service_resolver_get_client(resolver)
            logger.debug("resolving failed", metadata: [
                "discovery.instance": "\(key.name)", "discovery.error": "\(AvahiValues.clientErrorText(client))",
            ])
            slot.handle?.free { avahi_service_resolver_free($0) }
            slot.handle = nil
            resolvers[key] = slot
            if slot.attempts < 3 {
                startResolverLocked(key, client: client)
            }
        }
    }
}

/// The data of one AVAHI_RESOLVER_FOUND callback; valid only during the callback.
struct ResolverResult {
    var name: UnsafePointer<CChar>?
    var host: UnsafePointer<CChar>?
    var address: UnsafePointer<AvahiAddress>?
    var port: UInt16
    var txt: UnsafeMutablePointer<AvahiStringList>?

    /// Copies the C data into a `DiscoveredService` with one address.
    func service(_ key: ResolverKey) -> DiscoveredService? {
        guard let address, let host = AvahiValues.addressText(address) else { return nil }
        let isIPv6 = address.pointee.proto == AvahiProtocol(AVAHI_PROTO_INET6)
        let discovered = DiscoveredAddress(
            host: host, interfaceIndex: key.interface,
            interfaceName: AvahiValues.interfaceName(key.interface), isIPv6: isIPv6)
        return DiscoveredService(
            instanceName: name.map { String(cString: $0) } ?? key.name,
            hostName: self.host.map { String(cString: $0) } ?? "",
            port: port,
            txt: TXTRecord.decode(AvahiValues.txtEntries(txt)),
            addresses: [discovered])
    }
}
