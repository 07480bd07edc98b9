// Publishing our advert through an AvahiEntryGroup, with renames on collisions.

internal import CAvahiClient
import Foundation

extension AvahiSession {
    /// Creates the entry group if needed (`avahi_entry_group_new`) and, if it is empty,
    /// adds our service and commits it.
    func publishLocked(_ client: OpaquePointer) {
        guard advert != nil else { return }
        if group == nil {
            let context = Unmanaged.passRetained(CallbackContext(session: self))
            guard let created = avahi_entry_group_new(client, { group, state, userdata in
                CallbackContext.from(userdata)?.session.groupStateChangedLocked(group, state)
            }, context.toOpaque()) else {
                context.release()
                logger.info("could not create an Avahi entry group; retrying",
                            metadata: ["discovery.error": "\(AvahiValues.clientErrorText(client))"])
                armRetryLocked(afterMilliseconds: 5000)
                return
            }
            group = AvahiHandle(pointer: created, context: context)
        }
        if let group, avahi_entry_group_is_empty(group.pointer) != 0 {
            addServiceLocked(group.pointer)
        }
    }

    /// `avahi_entry_group_add_service_strlst` (the variadic `_add_service` cannot be called
    /// from Swift) on all interfaces and both protocols, then `avahi_entry_group_commit`.
    /// A local name clash (AVAHI_ERR_COLLISION) is solved by renaming, a few times at most.
    func addServiceLocked(_ group: OpaquePointer) {
        guard let advert else { return }
        let pairs: [(key: String, value: String)]
        do {
            pairs = try TXTRecord.encode(advert.txt)
        } catch {
            logger.info("not publishing: the advert's TXT record is invalid", metadata: ["discovery.error": "\(error)"])
            return
        }
        let txt = AvahiValues.makeTXTList(pairs)
        defer { avahi_string_list_free(txt) }
        for _ in 0..<10 {
            let added = avahi_entry_group_add_service_strlst(
                group, AvahiIfIndex(AVAHI_IF_UNSPEC), AvahiProtocol(AVAHI_PROTO_UNSPEC),
                AvahiPublishFlags(rawValue: 0), instanceName, serviceType, nil, nil, advert.port, txt)
            if added == Int32(AVAHI_ERR_COLLISION) {
                renameLocked()
                continue
            }
            guard added >= 0 else {
                logger.info("Avahi refused our service", metadata: [
                    "discovery.instance": "\(instanceName)", "discovery.error": "\(AvahiValues.errorText(added))",
                ])
                return
            }
            let committed = avahi_entry_group_commit(group)
            if committed < 0 {
                logger.info("could not commit our service; retrying",
                            metadata: ["discovery.error": "\(AvahiValues.errorText(committed))"])
                avahi_entry_group_reset(group)
                armRetryLocked(afterMilliseconds: 5000)
            }
            return
        }
        logger.info("gave up publishing after repeated local name collisions")
    }

    /// Picks a new instance name and reports it. The first rename appends the start of our
    /// identity key ("twin (1a7e-a624)"), which no other agent can pick: two agents that
    /// both renamed to `avahi_alternative_service_name` ("twin #2") collided again and again
    /// (the IPv4 and IPv6 probes can each pick a different winner), measured in the LAN lab.
    /// Later renames fall back to `avahi_alternative_service_name`.
    func renameLocked() {
        let keyed = AvahiValues.keyedServiceName(advert?.instanceName ?? instanceName, key: advert?.txt[TXTKeys.publicKey])
        let candidate = keyed.flatMap { $0 == instanceName ? nil : $0 } ?? AvahiValues.alternativeServiceName(instanceName)
        guard let alternative = candidate else { return }
        logger.info("service name collision; renaming", metadata: [
            "discovery.instance": "\(instanceName)", "discovery.newInstance": "\(alternative)",
        ])
        instanceName = alternative
        yield(.nameCollision(newName: alternative))
    }

    /// Entry group state callback (poll thread, lock held). Also runs once inside
    /// `avahi_entry_group_new`, before `group` is set, with UNCOMMITED.
    func groupStateChangedLocked(_ group: OpaquePointer?, _ state: AvahiEntryGroupState) {
        guard let group, !shuttingDown else { return }
        switch state {
        case AVAHI_ENTRY_GROUP_ESTABLISHED:
            logger.info("published", metadata: ["discovery.instance": "\(instanceName)"])
            yield(.published(instanceName: instanceName))
        case AVAHI_ENTRY_GROUP_COLLISION:
            // Someone else on the LAN owns the name: rename and publish again.
            renameLocked()
            avahi_entry_group_reset(group)
            addServiceLocked(group)
        case AVAHI_ENTRY_GROUP_FAILURE:
            let client = avahi_entry_group_get_client(group)
            logger.info("publishing failed; retrying",
                        metadata: ["discovery.error": "\(AvahiValues.clientErrorText(client))"])
            if let owned = self.group, owned.pointer == group {
                owned.free { avahi_entry_group_free($0) }
                self.group = nil
            }
            armRetryLocked(afterMilliseconds: 5000)
        default:
            break
        }
    }
}
