// What the two back ends' sessions share: publishing our advert with renames on a name
// clash, and the retry timer.

internal import CAvahiClient
import Foundation
import Logging

/// A session of either back end: the daemon's (`AvahiSession`, libavahi-client) or the
/// embedded stack's (`EmbeddedSession`, libavahi-core). They differ in which C calls add,
/// reset and commit an entry group and in what a retry rebuilds; the rules around those
/// calls (rename on a clash and how often, when to retry, what is logged) are written once
/// here, so the two back ends cannot drift apart. Every member runs on the poll thread
/// with the poll lock held.
protocol PublishingSession: AnyObject, Sendable {
    var advert: ServiceAdvert? { get }
    var instanceName: String { get set }
    var logger: Logger { get }
    var loop: ThreadedPoll { get }
    var retryTimer: AvahiHandle<Self>? { get }
    var retryArmed: Bool { get set }
    var shuttingDown: Bool { get }
    func yield(_ event: DiscoveryEvent)
}

extension PublishingSession {
    /// Arms the retry timer (`avahi_elapse_time` + `timeout_update`) unless it is armed
    /// already: one pending retry rebuilds everything that failed.
    func armRetryLocked(afterMilliseconds delay: UInt32) {
        guard !retryArmed, !shuttingDown, let retryTimer else { return }
        loop.set(retryTimer, afterMilliseconds: delay)
        retryArmed = true
    }

    /// Picks a new instance name (``AvahiValues/nextInstanceName(current:advert:)``) and
    /// reports it, so the person sees the name the LAN shows.
    func renameLocked() {
        guard let alternative = AvahiValues.nextInstanceName(current: instanceName, advert: advert) else { return }
        logger.info("service name collision; renaming", metadata: [
            "discovery.instance": "\(instanceName)", "discovery.newInstance": "\(alternative)",
        ])
        instanceName = alternative
        yield(.nameCollision(newName: alternative))
    }

    /// Adds our service to an empty entry group with `add(txt, port)` (under the current
    /// `instanceName`), then `commit()`s it. A local name clash (AVAHI_ERR_COLLISION)
    /// `reset()`s the group and renames, ten times at most; a refusal is logged as
    /// `refusal` and not retried (it would be refused again); a failed commit is retried
    /// in 5 s.
    func addServiceWithRenamesLocked(refusal: String,
                                     add: (UnsafeMutablePointer<AvahiStringList>, UInt16) -> Int32,
                                     reset: () -> Void,
                                     commit: () -> Int32) {
        guard let advert, let txt = AvahiValues.advertTXT(advert, logger: logger) else { return }
        defer { avahi_string_list_free(txt) }
        for _ in 0..<10 {
            let added = add(txt, advert.port)
            if added == Int32(AVAHI_ERR_COLLISION) {
                reset()
                renameLocked()
                continue
            }
            guard added >= 0 else {
                logger.info("\(refusal)", metadata: [
                    "discovery.instance": "\(instanceName)", "discovery.error": "\(AvahiValues.errorText(added))",
                ])
                reset()
                return
            }
            let committed = commit()
            if committed < 0 {
                logger.info("could not commit our service; retrying",
                            metadata: ["discovery.error": "\(AvahiValues.errorText(committed))"])
                reset()
                armRetryLocked(afterMilliseconds: 5000)
            }
            return
        }
        logger.info("gave up publishing after repeated local name collisions")
    }
}
