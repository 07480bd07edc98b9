// Publishing our advert through an AvahiEntryGroup, with renames on collisions.

internal import CAvahiClient
import Foundation

extension AvahiSession {
    /// Creates the entry group if needed (`avahi_entry_group_new`) and, if it is empty,
    /// adds our service and commits it.
    func publishLocked(_ client: OpaquePointer) {
        guard advert != nil else { return }
        if group == nil {
            let context = Unmanaged.passRetained(Context(session: self))
            guard let created = avahi_entry_group_new(client, { group, state, userdata in
                Context.from(userdata)?.session.groupStateChangedLocked(group, state)
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
    /// from Swift) on all interfaces (or each allowed one) and both protocols, then
    /// `avahi_entry_group_commit`, with the shared rename rules (`PublishingSession`).
    func addServiceLocked(_ group: OpaquePointer) {
        guard let targets = interfaces.publishIndices(logger: logger) else { return }
        addServiceWithRenamesLocked(refusal: "Avahi refused our service", add: { txt, port in
            var added: Int32 = 0
            for index in targets where added >= 0 {
                added = avahi_entry_group_add_service_strlst(
                    group, index, AvahiProtocol(AVAHI_PROTO_UNSPEC),
                    AvahiPublishFlags(rawValue: 0), instanceName, serviceType, nil, nil, port, txt)
            }
            return added
        }, reset: {
            avahi_entry_group_reset(group)
        }, commit: {
            avahi_entry_group_commit(group)
        })
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
