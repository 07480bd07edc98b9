// Pure classification of textual addresses, so the discovery table can order them
// without calling into the C library.

/// Classifies numeric addresses as Avahi prints them (`avahi_address_snprint`).
enum AddressClass {
    /// 169.254.0.0/16 for IPv4, fe80::/10 for IPv6. A string that is not an address is not link-local.
    static func isLinkLocal(_ host: String, isIPv6: Bool) -> Bool {
        if isIPv6 {
            guard let firstGroup = host.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first,
                  firstGroup.count <= 4,
                  let value = UInt16(firstGroup, radix: 16) else { return false }
            return value & 0xffc0 == 0xfe80
        }
        return host.hasPrefix("169.254.")
    }

    /// Sort rank for connect attempts: IPv4, then routable IPv6, then link-local (IPv4 before IPv6).
    static func rank(_ address: DiscoveredAddress) -> Int {
        switch (address.isLinkLocal, address.isIPv6) {
        case (false, false): 0
        case (false, true): 1
        case (true, false): 2
        case (true, true): 3
        }
    }
}
