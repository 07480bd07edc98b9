import ArgumentParser
import Foundation
import PeershareAgent
import PeershareCore
import SodiumKit
import PeershareTransfer

/// `peershare status`: the running agent's identity, port, addresses and transfers.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the running agent: name, fingerprint, port, addresses and transfers in progress.")

    @OptionGroup var common: CommonOptions

    @Flag(help: "Print a JSON object.")
    var json = false

    func run() async throws {
        _ = common.bootstrapLogging()
        try await reportingErrors(json: json) {
            let reply = try await ControlClient.request(ControlRequest(command: .status), paths: common.paths)
            guard let status = reply.status else { throw AgentError(.general, "The agent sent no status.") }
            if json {
                printJSON(status)
                return
            }
            Console.out("Name:        \(DisplayEscape.escape(status.name))")
            Console.out("Fingerprint: \(status.fingerprint)")
            Console.out("Port:        \(status.port)")
            Console.out("Addresses:   \(status.addresses.joined(separator: ", "))")
            Console.out("Inbox:       \(DisplayEscape.escape(status.inbox))")
            let stack = status.discovery == "embedded" ? "embedded mDNS stack (no avahi-daemon)" : status.discovery
            Console.out("Discovery:   \(stack)\(status.discoveryMode.map { " (mode \($0))" } ?? "")")
            Console.out("Offers:      \(status.pendingOffers) waiting")
            if status.transfers.isEmpty {
                Console.out("Transfers:   none")
            } else {
                Console.out("Transfers:")
                for transfer in status.transfers {
                    let percent = transfer.totalBytes > 0 ? Int(Double(transfer.bytes) * 100 / Double(transfer.totalBytes)) : 0
                    Console.out("  \(transfer.id) \(transfer.direction) \(DisplayEscape.escape(transfer.peer)) \(percent)% of \(ByteCount.format(transfer.totalBytes)) \(DisplayEscape.escape(transfer.file ?? ""))")
                }
            }
        }
    }
}

/// `peershare id`: this machine's name and fingerprint (works without a running agent).
struct IdCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "id",
        abstract: "Print this agent's name and fingerprint.")

    @OptionGroup var common: CommonOptions

    @Flag(help: "Print a JSON object.")
    var json = false

    struct Identity: Codable {
        var name: String
        var fingerprint: String
        var publicKey: String
    }

    func run() async throws {
        _ = common.bootstrapLogging()
        try await reportingErrors(json: json) {
            let paths = common.paths
            let identity = try IdentityStore.loadOrCreate(paths: paths)
            var name = try Settings.resolve(paths: paths, overrides: .init(), hostName: Settings.hostName).options.name
            if let reply = try? await ControlClient.request(ControlRequest(command: .status), paths: paths), let status = reply.status {
                name = status.name
            }
            let shown = Identity(name: name, fingerprint: Fingerprint.full(of: identity.publicKey), publicKey: Hex.encode(identity.publicKey))
            if json {
                printJSON(shown)
            } else {
                Console.out("\(DisplayEscape.escape(shown.name))  \(shown.fingerprint)")
            }
        }
    }
}

/// `peershare trusted`: the pinned (paired) peers.
struct TrustedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trusted",
        abstract: "List paired peers (their identity keys are pinned).")

    @OptionGroup var common: CommonOptions

    @Flag(help: "Print a JSON array.")
    var json = false

    struct Row: Codable {
        var name: String
        var fingerprint: String
        var publicKey: String
        var firstSeen: Date
        var lastSeen: Date
        var addresses: [String]
        /// What this receiver does with the peer's offers (`peershare trust`); absent: the defaults.
        var policy: PeerPolicy?

        init(_ pin: PinnedPeer) {
            (name, fingerprint, publicKey) = (pin.name, pin.fingerprint, pin.publicKey)
            (firstSeen, lastSeen, addresses, policy) = (pin.firstSeen, pin.lastSeen, pin.addresses, pin.policy)
        }
    }

    func run() async throws {
        _ = common.bootstrapLogging()
        try await reportingErrors(json: json) {
            let peers = try TrustStore(paths: common.paths).all()
            if json {
                printJSON(peers.map(Row.init))
                return
            }
            if peers.isEmpty {
                Console.out("No paired peers yet.")
                return
            }
            let formatter = ISO8601DateFormatter()
            for peer in peers {
                Console.out("\(DisplayEscape.escape(peer.shownName))  \(peer.fingerprint)  last seen \(formatter.string(from: peer.lastSeen))\(peer.addresses.isEmpty ? "" : "  at " + peer.addresses.joined(separator: ", "))")
                if let policy = peer.policy { Console.out("    policy: \(PolicyText.describe(policy))") }
            }
        }
    }
}

/// `peershare forget PEER`: remove a pin; the next session with that peer needs a code.
struct ForgetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget",
        abstract: "Forget a paired peer; the next transfer with it needs a pairing code again.")

    @OptionGroup var common: CommonOptions

    @Argument(help: ArgumentHelp("The peer's name, a prefix of its fingerprint (at least 4 hex digits), or an address it was reached at (as `trusted` shows it).", valueName: "PEER"),
              completion: .shellCommand("peershare trusted --json 2>/dev/null | tr ',' '\\n' | sed -n 's/.*\"name\":\"\\([^\"]*\\)\".*/\\1/p'"))
    var peer: String

    func run() async throws {
        _ = common.bootstrapLogging()
        try await reportingErrors {
            let removed = try TrustStore(paths: common.paths).forget(peer)
            try AddressBook(paths: common.paths).forget(key: removed.keyBytes)
            if !common.quiet { Console.out("Forgot \(removed.name.isEmpty ? removed.shownName : "\"" + DisplayEscape.escape(removed.name) + "\"") (\(removed.fingerprint)).") }
        }
    }
}
