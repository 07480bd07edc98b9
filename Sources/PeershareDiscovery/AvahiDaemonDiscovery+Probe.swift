// Asking once whether avahi-daemon is there: for `--discovery daemon` (which must fail
// clearly without one) and for one-off browses in the auto mode.

import Foundation
import Logging

extension AvahiDaemonDiscovery {
    /// nil if avahi-daemon is running and answers on the system bus within `timeout`;
    /// otherwise why not, in plain words. Publishes and browses nothing.
    public static func probe(timeout: Duration = .seconds(3), logger: Logger) async -> String? {
        let watcher = AvahiDaemonDiscovery(watchOnly: true, logger: logger)
        let events = watcher.start(advert: nil)
        let verdict = await withTaskGroup(of: String?.self, returning: String?.self) { group in
            group.addTask {
                for await event in events {
                    switch event {
                    case .daemonAvailable: return nil
                    case .daemonUnavailable(let why): return why
                    default: continue
                    }
                }
                return "the Avahi client stopped before it could tell"
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return "avahi-daemon did not answer within \(timeout.components.seconds) seconds"
            }
            let first = await group.next() ?? "the probe was cancelled"
            group.cancelAll()
            return first
        }
        await watcher.stop()
        return verdict
    }
}
