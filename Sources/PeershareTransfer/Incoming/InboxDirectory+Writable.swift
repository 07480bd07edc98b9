import Glibc
import PeersharePosix
internal import SystemPackage

extension InboxDirectory {
    /// Why this process cannot create files in the inbox ("permission denied", "read-only file
    /// system"), or nil when it can: `faccessat(inbox, ".", W_OK|X_OK, AT_EACCESS)`, which
    /// weighs the mode bits, ACLs and a read-only mount for this process's own user.
    ///
    /// Checked when the agent starts and before an offer is shown, so that a read-only inbox
    /// is reported as such, before anyone types a code, not later as a failed or full disk.
    package func writeProblem() -> String? {
        do {
            _ = try SystemCall.retrying { Glibc.faccessat(descriptor, ".", W_OK | X_OK, AT_EACCESS) }
            return nil
        } catch {
            return error.description.lowercased()
        }
    }
}
