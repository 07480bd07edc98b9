import Foundation
import NIOCore
import PeershareCore
import SodiumKit

/// What one probe of an address found.
package enum ProbeOutcome: Sendable {
    /// The handshake proved a pinned key there (KNOWN mode: the receiver's signature in M4).
    /// `name` is what the peer calls itself in its HELLO (protocol 1.1; nil from a 1.0 peer).
    case paired(key: [UInt8], name: String?, version: ProtocolVersion)
    /// Something answered with a key this side has not pinned: it cannot be proven without
    /// pairing (the 6-digit code), so it is only a claim.
    case notPaired(claimedKey: [UInt8])
    /// The pin for this address names another key than the one that answered.
    case differentKey(pinned: [UInt8], answered: [UInt8])
    /// No answer: nothing listening, no route, timed out, or a protocol error.
    case failed(AgentError)
}

/// The outcome and how long it took (from the dial to the answer that decided it).
package struct ProbeResult: Sendable {
    package var address: PeerAddress
    package var outcome: ProbeOutcome
    package var seconds: Double
}

/// A cheap authenticated check that a peer is at an address, with no offer: the handshake up
/// to the receiver's M4 proves its key; then, in protocol 1.1, M5 and a HELLO each way
/// (docs/PROTOCOL.md, Versions); with a 1.0 peer, which has no HELLO, this side aborts
/// (reason 6) instead of M5. A key that is not pinned stops after M2 with an abort, as a
/// sender does when it redials: the peer never counts it as a failed pairing.
package struct Prober: Sendable {
    package let context: SessionContext
    package let group: any EventLoopGroup

    package init(context: SessionContext, group: any EventLoopGroup) {
        self.context = context
        self.group = group
    }

    /// Probes `address` (a DNS name is resolved again by this dial).
    package func probe(_ address: PeerAddress) async -> ProbeResult {
        let start = ContinuousClock.now
        var outcome: ProbeOutcome
        do throws(AgentError) {
            var pinned = try context.trust.pin(forAddress: address.description)?.keyBytes
            var version = ProtocolVersion.highest
            var step = try await once(address, pinned: pinned, version: version)
            // At most once for an older version and once for a pinned key that moved here.
            for _ in 0..<2 {
                guard case .dialAgain(let key, let lower) = step else { break }
                pinned = key ?? pinned
                version = lower ?? version
                step = try await once(address, pinned: pinned, version: version)
            }
            switch step {
            case .done(let found): outcome = found
            case .dialAgain: outcome = .failed(AgentError(.protocolError, "The peer at \(address) asked to be dialled again three times."))
            }
        } catch {
            outcome = .failed(error)
        }
        return ProbeResult(address: address, outcome: outcome, seconds: (ContinuousClock.now - start).inSeconds)
    }

    /// One connection's result, or a reason to dial once more: the key that answered is
    /// pinned after all (the peer moved), or the peer refused this version.
    private enum Step {
        case done(ProbeOutcome)
        case dialAgain(pin: [UInt8]?, version: ProtocolVersion?)
    }

    private func once(_ address: PeerAddress, pinned: [UInt8]?, version: ProtocolVersion) async throws(AgentError) -> Step {
        let (channel, limit) = try await Connections.connect(to: address, group: group, timeout: 5)
        do {
            return try await channel.executeThenClose { inbound, _ in
                let io = FrameIO(channel: channel.channel, inbound: inbound, limit: limit)
                return try await converse(io, address: address, pinned: pinned, version: version)
            }
        } catch let error as AgentError {
            throw error
        } catch {
            throw AgentError(.general, "The probe failed: \(error)", underlying: error)
        }
    }

    private func converse(_ io: FrameIO, address: PeerAddress, pinned: [UInt8]?, version: ProtocolVersion) async throws(AgentError) -> Step {
        let step = context.options.timeouts.handshakeStep
        var handshake = SenderHandshake(identity: context.identity, pinnedReceiver: pinned, summary: [], version: version)
        let m1: [UInt8]
        do { m1 = try handshake.makeM1() } catch { throw .handshake(error) }
        try await io.send(m1)
        let m2: [UInt8]
        switch try await io.readHandshakeReply("the peer's reply", seconds: step) {
        case .message(let bytes): m2 = bytes
        case .abort(let abort):
            if version == .highest, let lower = abort.lowerVersion(than: version) { return .dialAgain(pin: nil, version: lower) }
            throw Failure.abort(abort)
        }
        let answered: SenderStep
        do {
            answered = try handshake.handleM2(m2)
        } catch {
            await io.sendAbort(.cancelled, "probe")
            if error == .pinMismatch, let pinned, let key = handshake.receiverIdentity {
                return .done(.differentKey(pinned: pinned, answered: key))
            }
            throw .handshake(error)
        }
        let key = handshake.receiverIdentity ?? []
        guard case .known = answered else {
            await io.sendAbort(.cancelled, "probe")
            if let pinned, !ConstantTime.equal(pinned, key) { return .done(.differentKey(pinned: pinned, answered: key)) }
            if pinned == nil, try context.trust.pin(forKey: key) != nil { return .dialAgain(pin: key, version: nil) }
            return .done(.notPaired(claimedKey: key))
        }
        return .done(try await prove(io, handshake: &handshake, address: address, key: key))
    }

    /// M4 proves the key; then HELLO (1.1) or an abort instead of M5 (1.0).
    private func prove(_ io: FrameIO, handshake: inout SenderHandshake, address: PeerAddress, key: [UInt8]) async throws(AgentError) -> ProbeOutcome {
        let timeout = context.options.timeouts.handshakeStep
        let m4 = try await io.readHandshakeMessage("the peer's confirmation", seconds: timeout)
        let m5: [UInt8], outcome: HandshakeOutcome
        do {
            (m5, outcome) = try handshake.handleM4(m4)
        } catch {
            await io.sendAbort(.security, "probe failed")
            throw .handshake(error)
        }
        context.proven(key, .dialled(address))
        guard outcome.version.hasCapabilities else {
            await io.sendAbort(.cancelled, "probe")
            return .paired(key: key, name: nil, version: outcome.version)
        }
        try await io.send(m5)
        let secure = try await SecureChannel.establish(io: io, version: outcome.version, sendKey: outcome.sendKey,
                                                       receiveKey: outcome.receiveKey, timeout: timeout)
        try await secure.send(.hello(name: context.options.name, capabilities: .implemented), final: true)
        io.timer.arm(seconds: timeout, reason: "waiting for the peer's HELLO")
        defer { io.timer.disarm() }
        guard case .message(.hello(let name, _), true) = try await secure.receive(waitingFor: "the peer's HELLO") else {
            throw AgentError(.protocolError, "Protocol error: the peer at \(address) did not answer the probe with HELLO.")
        }
        return .paired(key: key, name: name, version: outcome.version)
    }
}
