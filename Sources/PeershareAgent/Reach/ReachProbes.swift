import Foundation
import Logging
import NIOConcurrencyHelpers
import PeershareCore
import PeershareTransfer
import SodiumKit

/// The last probe of each peer reached by address: every static peer, and every paired peer
/// that mDNS does not show (at its remembered addresses). `peers` lists them with the
/// outcome and latency; a probe that proves a key also records the address in the address
/// book, so `--to NAME` finds a static peer that moved.
public final class ReachProbes: Sendable {
    /// One probed peer.
    public struct Entry: Sendable {
        public enum Source: String, Sendable, Codable {
            case mdns, `static`, remembered
        }

        public var source: Source
        /// The static entry as configured (nil for a remembered peer).
        public var configured: StaticPeer?
        /// The pinned key this probe was for (remembered peers), or the key that answered.
        public var key: [UInt8]?
        package var result: ProbeResult?
        public var probedAt: Date?
    }

    private let entries = NIOLockedValueBox<[String: Entry]>([:])

    public init() {}

    /// Every probed peer, static ones first, each group in the order it was configured.
    public var all: [Entry] {
        entries.withLockedValue { Array($0.values) }.sorted { ($0.source.rawValue, $0.configured?.description ?? "") < ($1.source.rawValue, $1.configured?.description ?? "") }
    }

    func store(_ entry: Entry, as id: String) { entries.withLockedValue { $0[id] = entry } }

    func keep(only ids: Set<String>) { entries.withLockedValue { $0 = $0.filter { ids.contains($0.key) } } }
}

extension Agent {
    /// How often static and remembered peers are probed.
    static let probeInterval: Duration = .seconds(60)
    /// Remembered (paired, not on mDNS) peers probed at most per round.
    static let maxRememberedProbes = 32

    /// Probes every static peer and every paired peer mDNS does not show, now and then every
    /// `probeInterval`, until cancelled.
    public func probeReachLoop() async {
        while !Task.isCancelled {
            await probeReachOnce()
            try? await Task.sleep(for: Self.probeInterval)
        }
    }

    /// One round: static peers first, then the paired peers neither mDNS nor a static
    /// probe showed; within each, all probes at once (each a single short connection).
    public func probeReachOnce() async {
        let statics = options.staticPeers.map { peer in
            ("static " + peer.description, ReachProbes.Entry(source: .static, configured: peer), [peer.address])
        }
        let found = await probe(statics)
        let proven = Set(found.compactMap { entry -> String? in
            guard case .paired(let key, _, _) = entry.result?.outcome else { return nil }
            return Hex.encode(key)
        })
        let remembered = rememberedJobs(excluding: proven)
        _ = await probe(remembered)
        reach.keep(only: Set((statics + remembered).map(\.0)))
    }

    /// Probes each job's addresses in turn until one proves a key; stores and returns the entries.
    private func probe(_ jobs: [(String, ReachProbes.Entry, [PeerAddress])]) async -> [ReachProbes.Entry] {
        let prober = Prober(context: sessionContext, group: group)
        return await withTaskGroup(of: ReachProbes.Entry.self) { group in
            for (id, entry, addresses) in jobs {
                group.addTask { [self] in
                    var entry = entry
                    for address in addresses {
                        let result = await prober.probe(address)
                        entry.result = result
                        if case .paired(let key, _, _) = result.outcome {
                            entry.key = key
                            break
                        }
                    }
                    entry.probedAt = Date()
                    reach.store(entry, as: id)
                    return entry
                }
            }
            var entries: [ReachProbes.Entry] = []
            for await entry in group { entries.append(entry) }
            return entries
        }
    }

    /// Paired peers not seen over mDNS and not proven by a static probe, each with its
    /// remembered addresses.
    private func rememberedJobs(excluding proven: Set<String>) -> [(String, ReachProbes.Entry, [PeerAddress])] {
        let known: KnownPeers
        do {
            known = try KnownPeers.read(trust: trust, book: addressBook, defaultPort: AgentOptions.defaultPort)
        } catch {
            logger.warning("cannot read the paired peers to probe them", metadata: ["error": "\(error.message)"])
            return []
        }
        let visible = Set(directory.peers.map(\.publicKeyHex))
        let statics = Set(options.staticPeers.map(\.address))
        return known.pins.filter { !visible.contains($0.publicKey) && !proven.contains($0.publicKey) }.prefix(Self.maxRememberedProbes).compactMap { pin in
            let addresses = known.addresses(forKey: pin.keyBytes).filter { !statics.contains($0) }.prefix(4)
            guard !addresses.isEmpty else { return nil }
            return ("remembered " + pin.publicKey, ReachProbes.Entry(source: .remembered, key: pin.keyBytes), Array(addresses))
        }
    }
}
