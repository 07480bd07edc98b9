// Publishing our advert on the embedded stack (an AvahiSEntryGroup), with renames on
// collisions (the rules in PublishingSession), through libavahi-core's calls.

// avahi-common/defs.h (server, browser and resolver states) is shared by both C
// modules and Swift sees its constants through CAvahiClient.
internal import CAvahiClient
internal import CAvahiCoreLoader
import Foundation

extension EmbeddedSession {
    /// Creates the entry group if needed (`pscore_entry_group_new`) and, if it is empty,
    /// adds our service and commits it. Only once the server is RUNNING (our host name
    /// is established), as Avahi requires.
    func publishLocked(_ server: OpaquePointer) {
        guard advert != nil else { return }
        if group == nil {
            let context = Unmanaged.passRetained(Context(session: self))
            guard let created = pscore_entry_group_new(server, { _, group, state, userdata in
                Context.from(userdata)?.session.groupStateChangedLocked(group, state)
            }, context.toOpaque()) else {
                context.release()
                logger.info("could not create an entry group; retrying",
                            metadata: ["discovery.error": "\(AvahiValues.errorText(pscore_server_errno(server)))"])
                armRetryLocked(afterMilliseconds: 5000)
                return
            }
            group = Handle(pointer: created, context: context)
        }
        if let group, pscore_entry_group_is_empty(group.pointer) != 0 {
            addServiceLocked(server, group.pointer)
        }
    }

    /// `avahi_server_add_service_strlst` on all (allowed) interfaces and both protocols,
    /// then `pscore_entry_group_commit`, with the shared rename rules (`PublishingSession`).
    func addServiceLocked(_ server: OpaquePointer, _ group: OpaquePointer) {
        addServiceWithRenamesLocked(refusal: "the embedded stack refused our service", add: { txt, port in
            // The server is bound to the allowed interfaces only, so "all" means those.
            pscore_server_add_service_strlst(
                server, group, AvahiIfIndex(AVAHI_IF_UNSPEC), AvahiProtocol(AVAHI_PROTO_UNSPEC),
                AvahiPublishFlags(rawValue: 0), instanceName, serviceType, nil, nil, port, txt)
        }, reset: {
            pscore_entry_group_reset(group)
        }, commit: {
            pscore_entry_group_commit(group)
        })
    }

    /// Entry group state callback (poll thread, lock held).
    func groupStateChangedLocked(_ group: OpaquePointer?, _ state: AvahiEntryGroupState) {
        guard let group, !shuttingDown, let server = server?.pointer else { return }
        switch state {
        case AVAHI_ENTRY_GROUP_ESTABLISHED:
            logger.info("published", metadata: ["discovery.instance": "\(instanceName)"])
            yield(.published(instanceName: instanceName))
        case AVAHI_ENTRY_GROUP_COLLISION:
            renameLocked()
            pscore_entry_group_reset(group)
            addServiceLocked(server, group)
        case AVAHI_ENTRY_GROUP_FAILURE:
            logger.info("publishing failed; retrying",
                        metadata: ["discovery.error": "\(AvahiValues.errorText(pscore_server_errno(server)))"])
            pscore_entry_group_reset(group)
            armRetryLocked(afterMilliseconds: 5000)
        default:
            break
        }
    }
}
