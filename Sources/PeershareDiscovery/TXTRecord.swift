// TXT record rules (RFC 6763 §6), kept free of Avahi so they can be unit tested.

/// Why an advert's TXT pairs cannot be published.
enum TXTRecordError: Error, Equatable, CustomStringConvertible {
    /// Keys must be 1...9 printable US-ASCII characters other than "=" (RFC 6763 §6.4).
    case invalidKey(String)
    /// "key=value" must fit the 255-byte length prefix of one TXT string.
    case entryTooLong(key: String, bytes: Int)

    var description: String {
        switch self {
        case .invalidKey(let key):
            "TXT key \(key.debugDescription) is not 1 to 9 printable ASCII characters without '='"
        case .entryTooLong(let key, let bytes):
            "TXT entry for key \(key.debugDescription) is \(bytes) bytes; at most 255 fit"
        }
    }
}

/// Encoding and decoding of DNS-SD TXT strings.
enum TXTRecord {
    static let maxKeyLength = 9
    static let maxEntryLength = 255

    /// Checks every pair and returns them sorted by key, so that the published record
    /// is the same on every run (the caller hands them to `avahi_string_list_add_pair`).
    static func encode(_ txt: [String: String]) throws(TXTRecordError) -> [(key: String, value: String)] {
        var pairs: [(key: String, value: String)] = []
        for key in txt.keys.sorted() {
            let value = txt[key] ?? ""
            guard isValidKey(key) else { throw .invalidKey(key) }
            let bytes = key.utf8.count + 1 + value.utf8.count
            guard bytes <= maxEntryLength else { throw .entryTooLong(key: key, bytes: bytes) }
            pairs.append((key, value))
        }
        return pairs
    }

    static func isValidKey(_ key: String) -> Bool {
        let bytes = Array(key.utf8)
        guard (1...maxKeyLength).contains(bytes.count) else { return false }
        return bytes.allSatisfy { $0 >= 0x20 && $0 <= 0x7e && $0 != UInt8(ascii: "=") }
    }

    /// Decodes TXT strings in wire order. Keys are matched case-insensitively, so they
    /// are lower-cased; the first occurrence of a key wins; an entry without "=" is a
    /// boolean attribute with an empty value; entries with an empty key, a key that is
    /// not printable ASCII, or a value that is not UTF-8 are dropped, because a peer
    /// could otherwise smuggle look-alike keys or undisplayable names into the table.
    static func decode(_ entries: [[UInt8]]) -> [String: String] {
        var result: [String: String] = [:]
        for entry in entries {
            let keyBytes: ArraySlice<UInt8>
            let valueBytes: ArraySlice<UInt8>
            if let eq = entry.firstIndex(of: UInt8(ascii: "=")) {
                keyBytes = entry[..<eq]
                valueBytes = entry[(eq + 1)...]
            } else {
                keyBytes = entry[...]
                valueBytes = []
            }
            guard !keyBytes.isEmpty, keyBytes.allSatisfy({ $0 >= 0x20 && $0 <= 0x7e }),
                  let key = String(validating: keyBytes, as: UTF8.self)?.lowercased(),
                  let value = String(validating: valueBytes, as: UTF8.self) else { continue }
            if result[key] == nil { result[key] = value }
        }
        return result
    }
}
