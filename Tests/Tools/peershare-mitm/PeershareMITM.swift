import ArgumentParser
import PeershareCore

/// `peershare-mitm`: a man-in-the-middle relay for the LAN lab (Tests/lan/cases_mitm.sh).
/// A test tool only: it is built with the package but never installed or packaged.
///
/// It serves one session and reports what it did and saw as JSON lines on standard output.
@main
struct PeershareMITM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peershare-mitm",
        abstract: "A man-in-the-middle relay between a peershare sender and receiver (LAN lab test tool).",
        subcommands: [Forward.self, Tamper.self, Impersonate.self, StandIn.self])
}

/// Where the relay listens for the sender, where the real receiver is, and where the
/// bytes it sees are recorded.
struct RelayOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Address the sender dials (or a DNAT rule sends it to).", valueName: "HOST:PORT"))
    var listen: String

    @Option(help: ArgumentHelp("The real receiver, or `original`: the address the sender dialled before a DNAT rule diverted it (SO_ORIGINAL_DST).", valueName: "HOST:PORT|original"))
    var target: String

    @Option(help: ArgumentHelp("Record the bytes the sender sent in PREFIX.to-receiver, those the receiver sent in PREFIX.to-sender.", valueName: "PREFIX"))
    var capture: String?

    @Option(help: "Give up after this many seconds (waiting for the sender, and for a forwarded session to end).")
    var seconds: Double = 120

    func endpoints() throws(RelayError) -> (listen: Endpoint, target: RelayTarget) {
        (try Endpoint(parsing: listen), try RelayTarget(parsing: target))
    }

    func captures() throws(RelayError) -> (toReceiver: Capture, toSender: Capture) {
        (try Capture(path: capture.map { $0 + ".to-receiver" }), try Capture(path: capture.map { $0 + ".to-sender" }))
    }
}

/// Runs `body`, turning a relay failure into an `error` line and exit status 1.
func reporting(_ body: () throws(RelayError) -> Void) throws {
    do {
        try body()
    } catch {
        RelayEvent.emit("error", message: error.description)
        throw ExitCode(1)
    }
}

/// Accepts the sender, dials the receiver, and forwards (optionally altering one frame).
func relayOnce(_ options: RelayOptions, flipAfterHeader: Int?) throws(RelayError) {
    let (listen, target) = try options.endpoints()
    let (toReceiver, toSender) = try options.captures()
    let listener = try TCPListener(listen)
    RelayEvent.emit("listening", message: listen.description)
    let sender = try listener.accept(seconds: options.seconds)
    var line = RelayEvent("sender-connected")
    line.peer = sender.peer
    line.emit()
    let receiver = try TCPConnection.connect(to: try target.resolve(for: sender))
    try Forwarder(sender: sender, receiver: receiver, toReceiver: toReceiver, toSender: toSender,
                  flipAfterHeader: flipAfterHeader, seconds: options.seconds).run()
}

struct Forward: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Forward one session unchanged, recording every byte.")

    @OptionGroup var relay: RelayOptions

    func run() throws {
        try reporting { () throws(RelayError) in try relayOnce(relay, flipAfterHeader: nil) }
    }
}

struct Tamper: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Forward one session, flipping one bit of one sender-to-receiver frame after the handshake.")

    @OptionGroup var relay: RelayOptions

    @Option(help: "Which frame after the sender's stream header: 1 is the OFFER, 2 the next, and so on.")
    var flipAfterHeader: Int = 1

    func run() throws {
        try reporting { () throws(RelayError) in try relayOnce(relay, flipAfterHeader: flipAfterHeader) }
    }
}

struct Impersonate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stand in for both ends of a first-contact session with guessed codes, then try again at once.")

    @OptionGroup var relay: RelayOptions

    @Option(help: "The code to try on the sender (default: a random one).")
    var guess: String?

    @Option(help: "Seconds to wait for the receiving person to type a code.")
    var waitForPerson: Double = 60

    @Option(help: "Seconds the second attempt waits for the receiver's answer (0: no second attempt).")
    var retryWait: Double = 5

    func run() throws {
        try reporting { () throws(RelayError) in
            let (listen, target) = try relay.endpoints()
            let (toReceiver, toSender) = try relay.captures()
            var code = PairingCode.random()
            if let guess {
                guard let typed = PairingCode(typed: guess) else { throw .usage("--guess must be 6 digits") }
                code = typed
            }
            let listener = try TCPListener(listen)
            RelayEvent.emit("listening", message: listen.description)
            try Impersonator(listener: listener, target: target, fromSender: toReceiver, fromReceiver: toSender,
                             guessForSender: code, waitForPerson: waitForPerson, retryWait: retryWait,
                             acceptSeconds: relay.seconds).run()
        }
    }
}

struct StandIn: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stand-in",
        abstract: "Stand in for both ends of a session between already paired agents (KNOWN mode).")

    @OptionGroup var relay: RelayOptions

    @Option(help: "Which identity key to claim toward the sender: `peer` (the real receiver's) or `own` (the relay's).")
    var claim: PairedStandIn.Claim = .peer

    func run() throws {
        try reporting { () throws(RelayError) in
            let (listen, target) = try relay.endpoints()
            let (toReceiver, toSender) = try relay.captures()
            let listener = try TCPListener(listen)
            RelayEvent.emit("listening", message: listen.description)
            try PairedStandIn(listener: listener, target: target, fromSender: toReceiver, fromReceiver: toSender,
                              claim: claim, acceptSeconds: relay.seconds).run()
        }
    }
}

extension PairedStandIn.Claim: ExpressibleByArgument {}
