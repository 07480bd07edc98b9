// Browsing and resolving on the embedded stack. The twin of AvahiSession+Browse and
// +Resolve for libavahi-core's calls; the policy (ResolvePolicy) is shared.

// avahi-common/defs.h (server, browser and resolver states) is shared by both C
// modules and Swift sees its constants through CAvahiClient.
internal import CAvahiClient
internal import CAvahiCoreLoader
import Foundation

extension EmbeddedSession {
    /// `pscore_service_browser_new` on all (allowed) interfaces and both protocols; one
    /// browser for the whole session. It may start before our host name is established.
    func ensureBrowserLocked(_ server: OpaquePointer) {
        guard browser == nil else { return }
        let context = Unmanaged.passRetained(Context(session: self))
        guard let created = pscore_service_browser_new(
            server, AvahiIfIndex(AVAHI_IF_UNSPEC), AvahiProtocol(AVAHI_PROTO_UNSPEC), serviceType, nil,
            AvahiLookupFlags(rawValue: 0),
            { browser, interface, proto, event, name, _, domain, _, userdata in
                Context.from(userdata)?.session.browserEventLocked(browser, interface, proto, event, name, domain)
            }, context.toOpaque())
        else {
            context.release()
            logger.info("could not start browsing; retrying",
                        metadata: ["discovery.error": "\(AvahiValues.errorText(pscore_server_errno(server)))"])
            armRetryLocked(afterMilliseconds: 2000)
            return
        }
        browser = Handle(pointer: created, context: context)
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
            guard resolvers.add(key) else { return }
            startResolverLocked(key)
        case AVAHI_BROWSER_REMOVE:
            guard let name, let domain else { return }
            let key = ResolverKey(interface: interface, proto: proto, name: String(cString: name), domain: String(cString: domain))
            resolvers.remove(key)?.free { pscore_service_resolver_free($0) }
            yield(.removed(instanceName: key.name, interfaceIndex: interface, protocolIsIPv6: key.isIPv6))
        case AVAHI_BROWSER_FAILURE:
            logger.info("browsing failed; retrying")
            if let owned = self.browser, owned.pointer == browser {
                owned.free { pscore_service_browser_free($0) }
                self.browser = nil
            }
            armRetryLocked(afterMilliseconds: 2000)
        default:
            break
        }
    }

    /// `pscore_service_resolver_new` for one record, for an address of the record's own
    /// family; freed after its first answer (see AvahiSession.startResolverLocked for why).
    func startResolverLocked(_ key: ResolverKey) {
        guard let server = server?.pointer, resolvers.beginAttempt(key) else { return }
        let context = Unmanaged.passRetained(Context(session: self, record: key))
        let created = pscore_service_resolver_new(
            server, key.interface, key.proto, key.name, serviceType, key.domain, key.proto,
            AvahiLookupFlags(rawValue: 0),
            { resolver, _, _, event, _, _, _, host, address, port, txt, _, userdata in
                guard let context = Context.from(userdata), let key = context.record else { return }
                context.session.resolverEventLocked(
                    resolver, key, event, ResolverResult(host: host, address: address, port: port, txt: txt))
            }, context.toOpaque())
        if let created {
            resolvers.attach(Handle(pointer: created, context: context), to: key)
        } else {
            context.release()
            armRetryLocked(afterMilliseconds: 2000)
        }
    }

    func retryResolversLocked() {
        for key in resolvers.keysToRetry { startResolverLocked(key) }
    }

    func refreshResolversLocked() {
        for key in resolvers.keysToRefresh() { startResolverLocked(key) }
    }

    /// Resolver callback (poll thread, lock held); frees the resolver whatever the outcome.
    func resolverEventLocked(_ resolver: OpaquePointer?, _ key: ResolverKey, _ event: AvahiResolverEvent,
                             _ result: ResolverResult) {
        guard let resolver, !shuttingDown else { return }
        // Copy the result first: its strings and TXT list belong to the resolver.
        let found = event == AVAHI_RESOLVER_FOUND ? result.service(key) : nil
        guard let outcome = resolvers.finish(key, resolver: resolver, found: found != nil) else { return }
        outcome.handle.free { pscore_service_resolver_free($0) }
        if let service = found {
            yield(.resolved(service, interfaceIndex: key.interface, protocolIsIPv6: key.isIPv6))
            return
        }
        logger.debug("resolving failed", metadata: ["discovery.instance": "\(key.name)"])
        if outcome.retryNow { startResolverLocked(key) }
    }
}
