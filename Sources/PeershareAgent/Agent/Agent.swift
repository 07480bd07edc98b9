import Foundation
import Logging
import NIOCore
import NIOPosix
import PeershareCore
import PeershareTransfer
import SodiumKit
import NIOConcurrencyHelpers

/// The peershare agent: one identity, one trust store, one inbox, a listener that serves any
/// number of incoming sessions at once, and outgoing sends, all concurrently.
///
/// Long-lived state that sessions share lives in small Sendable pieces (the event hub, the
/// offer board, the failure limiter), so that one slow or stalled session never holds up
/// another.
public final class Agent: Sendable {
    public let identity: SigningKeyPair
    public let paths: StatePaths
    public let trust: TrustStore
    /// Where each paired peer proved its key (hints for `--to NAME` without mDNS).
    public let addressBook: AddressBook
    /// The last probe of each static peer and of each paired peer mDNS does not show.
    public let reach = ReachProbes()
    public let options: AgentOptions
    public let hub = EventHub()
    /// Peers found over mDNS (empty when discovery is off).
    public let directory: PeerDirectory
    let offers: OfferBoard
    let logger: Logger
    let group: any EventLoopGroup
    let admission: Admission
    private let port = NIOLockedValueBox(0)
    /// `limit_rate_total`: the one limit every send of this agent shares (nil: none).
    private let totalRate: RateLimiter?

    public init(paths: StatePaths, options: AgentOptions, logger: Logger, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws(AgentError) {
        self.paths = paths
        self.options = options
        self.logger = logger
        self.group = group
        self.identity = try IdentityStore.loadOrCreate(paths: paths)
        self.trust = TrustStore(paths: paths)
        self.addressBook = AddressBook(paths: paths)
        self.offers = OfferBoard(capacity: options.maxPendingOffers)
        self.admission = Admission(capacity: options.maxUnauthenticated)
        self.directory = PeerDirectory(ownKey: identity.publicKey)
        self.totalRate = options.limitRateTotal > 0 ? RateLimiter(bytesPerSecond: options.limitRateTotal) : nil
    }

    public var fingerprint: String { Fingerprint.full(of: identity.publicKey) }

    /// The TCP port the listener is bound to (0 before `serve` bound it).
    public var boundPort: Int { port.withLockedValue { $0 } }

    // MARK: Sending

    /// The limits a send paces itself by: its own (`--limit-rate`, else `limit_rate`) and the
    /// one all sends share (`limit_rate_total`).
    func rateLimits(for target: SendTarget) -> [RateLimiter] {
        let own = target.limitRate ?? options.limitRate
        return (own > 0 ? [RateLimiter(bytesPerSecond: own)] : []) + (totalRate.map { [$0] } ?? [])
    }

    /// Sends `paths` to `target`; its `expectedKey` (from discovery) must be the key that answers.
    /// Entries inside the folders that match an `exclude` pattern (`ExcludeRules`) are not sent.
    public func send(paths sources: [String], exclude: [String] = [], to target: SendTarget,
                     events: @escaping EventSink) async throws(AgentError) -> SendResult {
        let transferID = TransferID.make()
        let hub = self.hub
        let sink: EventSink = { event in
            var event = event
            event.direction = .send
            events(event)
            hub.publish(event)
        }
        if let problem = ExcludeRules.problem(with: exclude) {
            let failure = AgentError(.usage, "Cannot send: \(problem).")
            sink(.failure(failure, transfer: transferID))
            throw failure
        }
        let plan: SendPlan
        do {
            plan = try TreeReader.plan(paths: sources, exclude: ExcludeRules(exclude))
        } catch {
            // What the person asked for is wrong (usage), or the disk failed (I/O). Said as an
            // event too, so that a `send` that went through a running agent hears why.
            let failure = Failure.plan(error)
            sink(.failure(failure, transfer: transferID))
            throw failure
        }
        for warning in plan.warnings {
            sink(TransferEvent(.warning(AgentEvent.Warning(transfer: transferID, message: warning))))
        }
        var context = sessionContext
        context.events = sink
        var session = SenderSession(
            context: context, plan: plan, addresses: target.addresses,
            expectedKey: target.expectedKey, transferID: transferID, fileEvents: target.fileEvents,
            rateLimits: rateLimits(for: target))
        session.sendsText = target.sendsText
        do {
            let result = try await session.run(group: group)
            let leftOut = plan.warnings.isEmpty ? nil : UInt64(plan.warnings.count)
            sink(TransferEvent(.done(AgentEvent.Done(transfer: transferID, result: result, leftOut: leftOut))))
            return result
        } catch {
            sink(.failure(error, transfer: transferID))
            throw error
        }
    }

    // MARK: Offers

    /// Offers waiting for a decision.
    public func pendingOffers() async -> [PendingOffer] { await offers.all }

    /// Approves an offer: with `code` for an unpaired sender, without for a paired one under
    /// `--ask-paired`. `offerID` picks one when several are waiting.
    public func accept(code: PairingCode?, offerID: String?) async throws(AgentError) -> PendingOffer {
        let offer = try await offers.select(id: offerID, needsCode: code != nil)
        if offer.needsCode && code == nil {
            throw AgentError(.usage, "This offer needs the pairing code shown on the sender's screen: peershare accept CODE")
        }
        await offers.resolve(offer.id, code.map { .code($0) } ?? .approve)
        return offer
    }

    /// Declines an offer (the only one, or `offerID`).
    public func decline(offerID: String?) async throws(AgentError) -> PendingOffer {
        let all = await offers.all
        let offer: PendingOffer
        if let offerID {
            offer = try await offers.select(id: offerID, needsCode: true)
        } else if all.count == 1 {
            offer = all[0]
        } else if all.isEmpty {
            throw AgentError(.usage, "No offer is waiting. See `peershare inbox`.")
        } else {
            let list = all.map { "  \($0.id)  from \(DisplayEscape.escape($0.peer))" }.joined(separator: "\n")
            throw AgentError(.usage, "Several offers are waiting; name one: peershare decline ID\n\(list)")
        }
        await offers.resolve(offer.id, .decline)
        return offer
    }

    /// What every session is given: sends replace `events` with their own sink.
    var sessionContext: SessionContext {
        var context = SessionContext(identity: identity, trust: trust, offers: offers, admission: admission,
                                     events: { [hub] in hub.publish($0) }, options: options.session, logger: logger)
        context.proven = { [self] key, place in noteProven(key, at: place) }
        return context
    }

    // MARK: Serving

    /// Binds the listener and serves incoming sessions until the task is cancelled.
    /// `onBound` is called once with the bound port.
    ///
    /// Sessions run in a task group outside the listener, so a listener that fails (NIO ends
    /// the accept stream when setting up one accepted connection fails) is bound again on the
    /// same port while every session in progress goes on: one bad connection never stops the
    /// agent. Only a failure to bind again ends `serve`.
    public func serve(onBound: @Sendable (Int) -> Void) async throws(AgentError) {
        let inbox: LiveInbox
        do {
            inbox = try LiveInbox(path: options.baseInbox)
        } catch {
            throw AgentError(.io, "Cannot use the inbox \(DisplayEscape.escape(options.baseInbox)): \(error)", underlying: error)
        }
        var server = try await bindListener(port: options.port)
        let bound = server.channel.localAddress?.port ?? options.port
        port.withLockedValue { $0 = bound }
        onBound(bound)
        logger.info("listening", metadata: ["net.port": "\(bound)"])
        do {
            try await withThrowingDiscardingTaskGroup { sessions in
                while !Task.isCancelled {
                    let failure = await accept(from: server, inbox: inbox, into: &sessions)
                    guard let failure, !Task.isCancelled else { return }
                    logger.warning("the listener failed; binding port \(bound) again",
                                   metadata: ["error": "\(Connections.describe(failure))"])
                    server = try await bindListener(port: bound)
                }
            }
        } catch let error as AgentError {
            if Task.isCancelled { return }
            throw error
        } catch {
            if Task.isCancelled { return }
            throw AgentError(.general, "The listener failed: \(Connections.describe(error))", underlying: error)
        }
    }

    private typealias PeerListener = NIOAsyncChannel<(FramedChannel, FrameLimit), Never>

    /// Binds the peer port. TCP_NODELAY is set at the TCP level (`tcpOption`): NIO's
    /// `socketOption(.tcp_nodelay)` would set option 1 at SOL_SOCKET, which is SO_DEBUG and
    /// needs CAP_NET_ADMIN.
    private func bindListener(port: Int) async throws(AgentError) -> PeerListener {
        do {
            return try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelOption(.backlog, value: 128)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                .childChannelOption(.writeBufferWaterMark, value: Connections.writeWaterMark)
                .bind(host: options.bindHost, port: port) { channel in Connections.makeFramed(channel) }
        } catch {
            throw AgentError(.general, "Cannot listen on port \(port): \(Connections.describe(error)). Another program may use it; pick one with --port (0 picks a free port).", underlying: error)
        }
    }

    /// Hands every accepted connection to a new session in `sessions` until the listener is
    /// cancelled (nil) or its accept stream fails (the error). The listener is closed either way.
    private func accept(from server: PeerListener, inbox: LiveInbox,
                        into sessions: inout ThrowingDiscardingTaskGroup<any Error>) async -> (any Error)? {
        let context = sessionContext
        return await Listener.serve(server, in: &sessions) { accepted in
            let (connection, limit) = accepted
            let directory = session(inbox)
            return { await ReceiverSession(context: context, inbox: directory, channel: connection, limit: limit).run() }
        }
    }

    /// A warning for the agent's terminal (which a service's journal records too) when files
    /// cannot be created in the inbox; nil when they can, or when the inbox cannot be opened:
    /// `serve` reports that. Offers are refused for the same reason as they arrive.
    public func inboxWarning() -> String? {
        guard let inbox = try? InboxDirectory(path: options.baseInbox, createIfMissing: false) else { return nil }
        return inbox.writeProblem().map {
            "The inbox \(DisplayEscape.escape(inbox.path)) is not writable (\($0)): every offer is refused until this is fixed."
        }
    }

    /// The inbox for a new session: opened (and created) again if it was deleted. When that
    /// fails, the deleted one is used, whose writes fail; the log says why.
    private func session(_ inbox: LiveInbox) -> InboxDirectory {
        do {
            return try inbox.forSession()
        } catch {
            logger.error("the inbox was deleted and cannot be created again", metadata: ["inbox": "\(DisplayEscape.escape(inbox.path))", "error": "\(error)"])
            return inbox.stale
        }
    }
}
