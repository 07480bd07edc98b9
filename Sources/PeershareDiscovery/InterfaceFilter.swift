// The interface allow-list (`--discovery-interface`), shared by both back ends.

import Foundation
import Logging

/// Which network interfaces discovery may use. Empty means every interface. The
/// embedded stack binds only to these (Avahi's `allow_interfaces`); with the daemon,
/// whose sockets are its own, peershare publishes only on them and ignores records
/// seen on other interfaces.
public struct InterfaceFilter: Sendable, Equatable {
    public var names: [String]

    public init(_ names: [String] = []) {
        self.names = names
    }

    public var isRestricted: Bool { !names.isEmpty }

    /// Whether a record seen on the interface with this name counts.
    func allows(_ interfaceName: String?) -> Bool {
        guard isRestricted else { return true }
        guard let interfaceName else { return false }
        return names.contains(interfaceName)
    }

    /// Where to publish: `[AVAHI_IF_UNSPEC]` (-1) when unrestricted, else the index of each
    /// allowed interface that exists now (`if_nametoindex`); nil, logged, if none does.
    func publishIndices(logger: Logger) -> [Int32]? {
        guard isRestricted else { return [-1] }
        let indices = names.compactMap { name -> Int32? in
            let index = if_nametoindex(name)
            return index == 0 ? nil : Int32(index)
        }
        if indices.isEmpty {
            logger.info("not publishing: none of the allowed interfaces exists",
                        metadata: ["discovery.interfaces": "\(names.joined(separator: ","))"])
            return nil
        }
        return indices
    }
}

/// What Linux accepts as a network interface name (`dev_valid_name`): 1 to 15 bytes,
/// not "." or "..", no '/', ':' or white space.
public enum InterfaceName {
    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...15).contains(bytes.count), name != ".", name != ".." else { return false }
        return !bytes.contains { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") || $0 <= 0x20 || $0 == 0x7F }
    }
}
