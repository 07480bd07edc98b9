// Conversions from Avahi's C values to Swift values. Each helper names the C call it makes.

internal import CAvahiClient
import Foundation
import Logging

enum AvahiValues {
    /// `avahi_strerror`: Avahi's text for an error code.
    static func errorText(_ code: Int32) -> String {
        guard let text = avahi_strerror(code) else { return "Avahi error \(code)" }
        return String(cString: text)
    }

    /// `avahi_client_errno` of a client, as text.
    static func clientErrorText(_ client: OpaquePointer?) -> String {
        guard let client else { return "no client" }
        return errorText(avahi_client_errno(client))
    }

    /// `avahi_address_snprint`: the numeric form of an address, without scope.
    static func addressText(_ address: UnsafePointer<AvahiAddress>) -> String? {
        var buffer = [CChar](repeating: 0, count: 64)
        let printed = buffer.withUnsafeMutableBufferPointer { out -> Bool in
            guard let base = out.baseAddress else { return false }
            return avahi_address_snprint(base, out.count, address) != nil
        }
        guard printed else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `if_indextoname`: the local interface's name, which is the scope of a link-local address.
    static func interfaceName(_ index: AvahiIfIndex) -> String? {
        guard index > 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(IF_NAMESIZE) + 1)
        let found = buffer.withUnsafeMutableBufferPointer { out -> Bool in
            guard let base = out.baseAddress else { return false }
            return if_indextoname(UInt32(index), base) != nil
        }
        guard found else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Walks a TXT list (`avahi_string_list_get_text/_get_size/_get_next`). Avahi's client
    /// builds the list by prepending, so it is reversed here to get wire order back,
    /// which matters because the first occurrence of a key wins.
    static func txtEntries(_ list: UnsafeMutablePointer<AvahiStringList>?) -> [[UInt8]] {
        var entries: [[UInt8]] = []
        var node = list
        while let current = node {
            let size = avahi_string_list_get_size(current)
            if let text = avahi_string_list_get_text(current) {
                entries.append(Array(UnsafeBufferPointer(start: text, count: size)))
            }
            node = avahi_string_list_get_next(current)
        }
        return entries.reversed()
    }

    /// Builds a TXT list with `avahi_string_list_add_pair` (the variadic
    /// `avahi_string_list_new` is not callable from Swift). Pairs are added in reverse
    /// because each add prepends. The caller frees the list with `avahi_string_list_free`.
    static func makeTXTList(_ pairs: [(key: String, value: String)]) -> UnsafeMutablePointer<AvahiStringList>? {
        var list: UnsafeMutablePointer<AvahiStringList>?
        for pair in pairs.reversed() {
            list = avahi_string_list_add_pair(list, pair.key, pair.value)
        }
        return list
    }

    /// The advert's TXT pairs as an Avahi list (the caller frees it with
    /// `avahi_string_list_free`); nil, logged, if they cannot be encoded.
    static func advertTXT(_ advert: ServiceAdvert, logger: Logger) -> UnsafeMutablePointer<AvahiStringList>? {
        do {
            return makeTXTList(try TXTRecord.encode(advert.txt))
        } catch {
            logger.info("not publishing: the advert's TXT record is invalid", metadata: ["discovery.error": "\(error)"])
            return nil
        }
    }

    /// The instance name to try after a collision. The first rename appends the advert's
    /// `renameTag` (the first two groups of our fingerprint: "twin (b029-4c1e)"), which no
    /// other agent can pick and which `peers` shows and `send --to` takes: two agents that
    /// both rename to `avahi_alternative_service_name` ("twin #2") can collide again and
    /// again (the IPv4 and IPv6 probes can each pick a different winner; the LAN lab shows it).
    /// Later renames fall back to `avahi_alternative_service_name`.
    static func nextInstanceName(current: String, advert: ServiceAdvert?) -> String? {
        let keyed = keyedServiceName(advert?.instanceName ?? current, tag: advert?.renameTag)
        return keyed.flatMap { $0 == current ? nil : $0 } ?? alternativeServiceName(current)
    }

    /// The embedded stack's host name after a clash: `keyedHostName`, unless that is the
    /// name that clashed (another agent with our key), then `avahi_alternative_host_name`
    /// ("name-2" for "name", and so on).
    static func nextHostName(current: String, publicKey: String?) -> String? {
        if let keyed = keyedHostName(publicKey: publicKey), keyed != current { return keyed }
        guard let alternative = avahi_alternative_host_name(current) else { return nil }
        defer { avahi_free(alternative) }
        return String(cString: alternative)
    }

    /// "peershare-" and the first 8 hex digits of `publicKey`, a valid DNS label (never shown
    /// to people as a peer's name, so it need not match its fingerprint); nil without a usable key.
    static func keyedHostName(publicKey: String?) -> String? {
        guard let publicKey, publicKey.utf8.count >= 8 else { return nil }
        let hex = publicKey.lowercased().prefix(8)
        guard hex.allSatisfy({ $0.isASCII && $0.isHexDigit }) else { return nil }
        return "peershare-" + String(hex)
    }

    /// "NAME (TAG)", cut to the 63-byte limit of a DNS-SD instance name; nil without a
    /// usable tag (1 to 16 characters of hex digits and "-").
    static func keyedServiceName(_ name: String, tag: String?) -> String? {
        guard let tag, (1...16).contains(tag.count),
              tag.allSatisfy({ $0 == "-" || ($0.isASCII && $0.isHexDigit) }) else { return nil }
        let suffix = " (\(tag.lowercased()))"
        var base = name
        while base.utf8.count + suffix.utf8.count > 63, !base.isEmpty { base.removeLast() }
        return base + suffix
    }

    /// `avahi_alternative_service_name`: "name #2" for "name", and so on.
    static func alternativeServiceName(_ name: String) -> String? {
        guard let alternative = avahi_alternative_service_name(name) else { return nil }
        defer { avahi_free(alternative) }
        return String(cString: alternative)
    }
}
