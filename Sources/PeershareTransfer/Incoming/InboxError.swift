import Glibc
internal import SystemPackage
import PeershareCore

/// Why writing a received offer into the inbox failed: a code the session maps to a
/// reply for the sender, a message a person can read (names already escaped with
/// `DisplayEscape`), and the errno of the system call that failed, if any.
package struct InboxError: Error, Sendable, CustomStringConvertible {
    package enum Code: Sendable {
        /// ENOSPC or EDQUOT: the disk or the quota is full.
        case noSpace
        /// A name the offer needs already exists where this writer may not replace it.
        case exists
        /// Something that should be a directory is not (ENOTDIR).
        case notADirectory
        /// Any other system failure.
        case io
        /// The entry or call is not acceptable here (wrong order, unknown parent, bad state).
        case refusedEntry
        /// More or less file data than the entry declared (hostile-inputs.md items 16, 17).
        case sizeMismatch
        /// A symlink target that fails `PathRules`, or a symlink found in the way (ELOOP/EXDEV).
        case symlinkRefused
    }

    package let code: Code
    package let message: String
    package let errno: Int32?

    package init(_ code: Code, _ message: String, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    package var description: String { message }

    /// An error for a failed system call: the code follows from the errno (ENOSPC and
    /// EDQUOT → `.noSpace`, EEXIST → `.exists`, ENOTDIR → `.notADirectory`, ELOOP and
    /// EXDEV → `.symlinkRefused`, else `.io`) and the message reads
    /// "`action` 'escaped path': strerror".
    static func system(_ error: Errno, _ action: String, _ path: String) -> InboxError {
        let code: Code
        switch error.rawValue {
        case ENOSPC, EDQUOT: code = .noSpace
        case EEXIST: code = .exists
        case ENOTDIR: code = .notADirectory
        case ELOOP, EXDEV: code = .symlinkRefused
        default: code = .io
        }
        return InboxError(code, "\(action) '\(DisplayEscape.escape(path))': \(error.description)",
                          errno: error.rawValue)
    }
}
