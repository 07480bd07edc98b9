import PeershareCore
import PeershareTransfer
import SodiumKit

/// The paired peers and where each was last reached: what `--to NAME` falls back to when
/// mDNS does not see the peer (another subnet, a network that drops multicast).
///
/// Read once per resolution (`TrustStore.all()`, `AddressBook.all()`), so that an unreadable
/// file is an error for the send, never "not paired" or "no address".
public struct KnownPeers: Sendable {
    public var pins: [PinnedPeer]
    public var book: [String: [RememberedAddress]]
    /// The port tried for a host that only ever dialled this side.
    public var defaultPort: Int

    public init(pins: [PinnedPeer], book: [String: [RememberedAddress]], defaultPort: Int) {
        self.pins = pins
        self.book = book
        self.defaultPort = defaultPort
    }

    /// Nothing known (a resolution from mDNS and `HOST:PORT` only).
    public static let none = KnownPeers(pins: [], book: [:], defaultPort: AgentOptions.defaultPort)

    /// Reads the trust store and the address book; either failing is the caller's error.
    public static func read(trust: TrustStore, book: AddressBook, defaultPort: Int) throws(AgentError) -> KnownPeers {
        KnownPeers(pins: try trust.all(), book: try book.all(), defaultPort: defaultPort)
    }

    /// The addresses to dial for `key`, most recent first: the address book's, then the
    /// `HOST:PORT`s the pin itself was reached at (pins older than the address book).
    public func addresses(forKey key: [UInt8]) -> [PeerAddress] {
        var result = AddressList(book[Hex.encode(key)] ?? []).dialCandidates(defaultPort: defaultPort)
        let pinned = PinnedPeer.pin(forKey: key, in: pins)?.addresses.compactMap(PeerAddress.init(parsing:)) ?? []
        for address in pinned where !result.contains(address) { result.append(address) }
        return result
    }

    /// Pins that `query` names: the exact name (any case), else a name prefix, else a
    /// fingerprint prefix of at least 4 hex digits.
    func pins(matching query: String) -> [PinnedPeer] {
        let lowered = query.lowercased()
        let named = pins.filter { !$0.name.isEmpty }
        var matches = named.filter { $0.name.lowercased() == lowered }
        if matches.isEmpty { matches = named.filter { $0.name.lowercased().hasPrefix(lowered) } }
        let hex = Fingerprint.normalized(query)
        if matches.isEmpty, hex.count >= 4, hex.allSatisfy(\.isHexDigit) {
            matches = pins.filter { Fingerprint.normalized($0.fingerprint).hasPrefix(hex) }
        }
        return matches
    }

    /// Whether `key` is pinned.
    func isPinned(_ key: [UInt8]) -> Bool { PinnedPeer.pin(forKey: key, in: pins) != nil }
}

extension PeerResolver {
    /// The target for a paired peer that mDNS does not show: its remembered addresses, and
    /// its pinned key, which the handshake must prove. Nil when no pin matches.
    static func remembered(_ query: String, known: KnownPeers) throws(AgentError) -> SendTarget? {
        let matches = known.pins(matching: query)
        guard !matches.isEmpty else { return nil }
        guard matches.count == 1 else {
            let list = matches.map { "  \(DisplayEscape.escape($0.shownName))  \(Fingerprint.short(of: $0.keyBytes))  (paired, not visible now)" }
            throw AgentError(.usage, "'\(DisplayEscape.escape(query))' matches several paired peers; give more of the name or a fingerprint prefix:\n" + list.joined(separator: "\n"))
        }
        let pin = matches[0]
        let addresses = known.addresses(forKey: pin.keyBytes)
        guard !addresses.isEmpty else {
            throw AgentError(.unreachable, "'\(DisplayEscape.escape(pin.shownName))' is paired, but it is not visible now and no address where it was reached is remembered. Send to it once as HOST:PORT.")
        }
        return SendTarget(addresses: addresses, expectedKey: pin.keyBytes, name: pin.name)
    }

    /// A pinned peer whose exact name another, unpaired key now announces over mDNS: the
    /// name alone cannot tell them apart, so the person must choose by fingerprint (a pin is
    /// never given up for a name).
    static func checkNameClash(_ query: String, discovered key: [UInt8], known: KnownPeers) throws(AgentError) {
        guard !known.isPinned(key) else { return }
        let lowered = query.lowercased()
        guard let pin = known.pins.first(where: { !$0.name.isEmpty && $0.name.lowercased() == lowered }) else { return }
        throw AgentError(.usage, "'\(DisplayEscape.escape(query))' is the name of a paired peer (\(Fingerprint.short(of: pin.keyBytes))), but the peer announcing it on the network now holds another key (\(Fingerprint.short(of: key))): another device, or an impostor. Give the fingerprint prefix of the one you mean.")
    }
}
