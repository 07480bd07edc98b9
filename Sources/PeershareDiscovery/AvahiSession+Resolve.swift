// Resolving browse results into services: one short-lived resolver per record,
// refreshed now and then.

internal import CAvahiClient
import Foundation

extension AvahiSession {
    /// `avahi_service_resolver_new` for one record, asking for an address of the same
    /// family as the record's protocol, so a host seen over IPv4 and IPv6 yields both.
    ///
    /// The resolver is freed after its first answer, as Avahi's examples do: an open
    /// resolver keeps the daemon querying for its SRV, TXT and address records, which
    /// in the 30-host lab more than doubled the mDNS packets in the first 30 s (177k
    /// against 77k) and kept 7 times as many flowing afterwards. Arrivals, departures
    /// and re-registrations (new port, new TXT) come through the browser as NEW/REMOVE;
    /// the periodic refresh (`refreshResolversLocked`) catches the rest, e.g. a peer
    /// whose address changed.
    func startResolverLocked(_ key: ResolverKey, client: OpaquePointer?) {
        guard let client, resolvers.beginAttempt(key) else { return }
        let context = Unmanaged.passRetained(Context(session: self, record: key))
        let created = avahi_service_resolver_new(
            client, key.interface, key.proto, key.name, serviceType, key.domain, key.proto,
            AvahiLookupFlags(rawValue: 0),
            { resolver, _, _, event, _, _, _, host, address, port, txt, _, userdata in
                guard let context = Context.from(userdata), let key = context.record else { return }
                context.session.resolverEventLocked(
                    resolver, key, event, ResolverResult(host: host, address: address, port: port, txt: txt))
            }, context.toOpaque())
        if let created {
            resolvers.attach(AvahiHandle(pointer: created, context: context), to: key)
        } else {
            context.release()
            logger.debug("could not start a resolver", metadata: ["discovery.instance": "\(key.name)"])
            armRetryLocked(afterMilliseconds: 2000)
        }
    }

    /// Restarts resolvers of new records that could not be created (retry timer).
    func retryResolversLocked(_ client: OpaquePointer) {
        for key in resolvers.keysToRetry { startResolverLocked(key, client: client) }
    }

    /// Resolves again every record whose refresh is due (refresh timer).
    func refreshResolversLocked(_ client: OpaquePointer) {
        for key in resolvers.keysToRefresh() { startResolverLocked(key, client: client) }
    }

    /// Resolver callback (poll thread, lock held). Frees the resolver (allowed inside
    /// its own callback) whatever the outcome; ``ResolverTable/finish(_:resolver:found:)``
    /// says whether to try again at once.
    func resolverEventLocked(_ resolver: OpaquePointer?, _ key: ResolverKey, _ event: AvahiResolverEvent,
                             _ result: ResolverResult) {
        guard let resolver, !shuttingDown else { return }
        let client = avahi_service_resolver_get_client(resolver)
        let failure = event == AVAHI_RESOLVER_FOUND ? nil : AvahiValues.clientErrorText(client)
        // Copy the result first: its strings and TXT list belong to the resolver.
        let found = failure == nil ? result.service(key) : nil
        guard let outcome = resolvers.finish(key, resolver: resolver, found: found != nil) else { return }
        outcome.handle.free { avahi_service_resolver_free($0) }
        if let service = found {
            yield(.resolved(service, interfaceIndex: key.interface, protocolIsIPv6: key.isIPv6))
            return
        }
        logger.debug("resolving failed", metadata: [
            "discovery.instance": "\(key.name)", "discovery.error": "\(failure ?? "no address")",
        ])
        if outcome.retryNow { startResolverLocked(key, client: client) }
    }
}

/// The data of one AVAHI_RESOLVER_FOUND callback: it points into the resolver, so it is
/// valid only during the callback and until the resolver is freed. The instance name
/// is taken from the browse result (the record's key), which removals are matched by.
struct ResolverResult {
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
            instanceName: key.name,
            hostName: self.host.map { String(cString: $0) } ?? "",
            port: port,
            txt: TXTRecord.decode(AvahiValues.txtEntries(txt)),
            addresses: [discovered])
    }
}
