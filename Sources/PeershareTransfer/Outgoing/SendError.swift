import Glibc
internal import SystemPackage
import PeershareCore

/// Why what the person asked to send cannot be sent: found while planning (before
/// anything goes on the wire) or while reading file data.
package struct SendError: Error, Sendable, CustomStringConvertible {
    package enum Code: Sendable {
        /// An argument does not exist.
        case notFound
        /// A file or directory cannot be read (EACCES, EPERM).
        case unreadable
        /// Two arguments would arrive under the same top-level name.
        case duplicateName
        /// An argument's name cannot be sent (`PathRules`), or there is no name (`/`).
        case invalidName
        /// An argument is a FIFO, socket or device.
        case unsupportedType
        /// A file's size changed between planning and sending, or while sending.
        case changedWhileSending
        /// Any other system failure.
        case io
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

    /// An error for a failed system call on `path`: ENOENT → `.notFound`, EACCES and
    /// EPERM → `.unreadable`, else `.io`; the message reads "`action` 'escaped path': strerror".
    static func system(_ error: Errno, _ action: String, _ path: String) -> SendError {
        let code: Code
        switch error.rawValue {
        case ENOENT: code = .notFound
        case EACCES, EPERM: code = .unreadable
        default: code = .io
        }
        return SendError(code, "\(action) '\(DisplayEscape.escape(path))': \(error.description)", errno: error.rawValue)
    }
}
