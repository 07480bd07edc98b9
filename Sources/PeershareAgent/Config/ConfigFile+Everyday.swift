import Foundation
import PeershareTransfer
import PeershareCore
import TOMLKit
import PeershareTransfer

/// The settings of a background agent: the receive hook and desktop notifications.
///
/// ```toml
/// on_receive = ["/usr/local/bin/sort-photos", "--from-peershare"]   # argv, never a shell
/// on_receive_timeout = 60      # seconds
/// notify = true                # desktop notifications when a session bus offers them
/// ```
extension ConfigFile {
    static let everydayKeys = ["on_receive", "on_receive_timeout", "notify"]

    /// Arguments of `on_receive` at most, and bytes of each.
    static let maxHookArguments = 64
    static let maxHookArgumentBytes = 4096

    mutating func parseEveryday(_ table: TOMLTable, lines: KeyLines) throws(AgentError) {
        let path = self.path
        func fail(_ key: String, _ message: String) -> AgentError {
            AgentError(.usage, "\(path) line \(lines.line(of: key, in: nil)): \(message)")
        }
        if let raw = table["on_receive"] {
            let shape = "'on_receive' must be a list: the program's absolute path, then its arguments, like [\"/usr/local/bin/sort-photos\", \"--quiet\"] (it is run directly, never through a shell)."
            guard let array = raw.array, !array.isEmpty, array.count <= Self.maxHookArguments else { throw fail("on_receive", shape) }
            var argv: [String] = []
            for item in array {
                guard let text = item.string, !text.isEmpty, text.utf8.count <= Self.maxHookArgumentBytes, !text.utf8.contains(0) else {
                    throw fail("on_receive", shape)
                }
                argv.append(text)
            }
            guard argv[0].hasPrefix("/") || argv[0].hasPrefix("~/") else { throw fail("on_receive", shape) }
            onReceive = Entry(value: argv, line: lines.line(of: "on_receive", in: nil))
        }
        if let raw = table["on_receive_timeout"] {
            guard let value = raw.int, (1...3600).contains(value) else {
                throw fail("on_receive_timeout", "'on_receive_timeout' must be a whole number of seconds between 1 and 3600.")
            }
            onReceiveTimeout = Entry(value: value, line: lines.line(of: "on_receive_timeout", in: nil))
        }
        if let raw = table["notify"] {
            guard let value = raw.bool else { throw fail("notify", "'notify' must be true or false.") }
            notify = Entry(value: value, line: lines.line(of: "notify", in: nil))
        }
    }
}
