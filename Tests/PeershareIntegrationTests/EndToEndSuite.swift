import Foundation
import Testing

/// Every integration test: real agents (`peershare run`) and real `peershare` commands, as
/// separate processes, talking over 127.0.0.1 only (`--listen 127.0.0.1 --port 0
/// --no-discovery`). The tests are spread over extensions by topic; they run one at a time
/// so that timing-sensitive ones (expiry, cancellation) are not starved.
@Suite("peershare end to end", .serialized, .timeLimit(.minutes(3)))
struct EndToEnd {
    /// A fresh scratch directory for one test; fails the test if the binary is missing.
    static func scratch(_ label: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Scratch {
        try #require(TestEnvironment.binaryExists,
                     "no peershare binary at \(TestEnvironment.binary): run `swift build` or set PEERSHARE_BIN",
                     sourceLocation: sourceLocation)
        return try Scratch(label)
    }
}

/// Waits for `send`'s pairing code and for the offer to be listed by `peershare inbox` on
/// `receiver` (the sender shows its code before the receiver has the offer), types the code
/// with `peershare accept CODE` (with `--offer ID` when `peer` names the sender among
/// several), and waits for the send to end. Returns the send's result.
func finishWithCode(_ send: RunningCommand, on receiver: AgentProcess, peer: String? = nil,
                    timeout: Duration = .seconds(60),
                    sourceLocation: SourceLocation = #_sourceLocation) async throws -> CommandResult {
    let code = try await pairingCode(of: send, sourceLocation: sourceLocation)
    let offer = try await waitForOffer(on: receiver, from: peer, needsCode: true, sourceLocation: sourceLocation)
    let accepted = try await receiver.accept(code: code, offer: peer == nil ? nil : offer.id)
    let result = try await send.wait(timeout: timeout)
    // `accept` waits for the outcome: 0 once the transfer started, or the status of the
    // refusal that followed the matched code (e.g. 7, no space), which the send shares.
    #expect(accepted.exited(0) || (!result.exited(0) && accepted.exited(result.status)),
            "accept failed: \(accepted)", sourceLocation: sourceLocation)
    return result
}

/// The code `send` shows (fails the test when it shows none).
func pairingCode(of send: RunningCommand, sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
    guard let event = try await send.waitForEvent("code"), let code = event.code else {
        let result = try await send.wait(timeout: .seconds(1))
        Issue.record("no pairing code was shown:\n\(result)", sourceLocation: sourceLocation)
        throw HarnessError("no pairing code")
    }
    return code
}

/// Polls `peershare inbox --json` on `receiver` until an offer (from `peer`, if given, with
/// `needsCode`) is waiting; fails the test after `timeout`.
func waitForOffer(on receiver: AgentProcess, from peer: String? = nil, needsCode: Bool,
                  timeout: Duration = .seconds(15),
                  sourceLocation: SourceLocation = #_sourceLocation) async throws -> PendingOfferInfo {
    let found = try await poll(timeout: timeout, interval: .milliseconds(50)) {
        try await receiver.pendingOffers().first { ($0.peer == peer || peer == nil) && $0.needsCode == needsCode }
    }
    guard let found else {
        Issue.record("no offer\(peer.map { " from \($0)" } ?? "") is waiting on \(receiver.name) (needsCode \(needsCode))\n\(receiver.transcript)",
                     sourceLocation: sourceLocation)
        throw HarnessError("no pending offer")
    }
    return found
}

/// Expects the tree `received` to be the tree `source` as sent (see
/// `TreeComparison.differences`), listing every difference on failure.
func expectSameTree(_ source: String, _ received: String, skipped: Set<EntryPath> = [],
                    sourceLocation: SourceLocation = #_sourceLocation) throws {
    let differences = try TreeComparison.differences(source: source, received: received, skipped: skipped)
    #expect(differences.isEmpty, "\(received) differs from \(source):\n\(differences.joined(separator: "\n"))",
            sourceLocation: sourceLocation)
}

/// `code` with its last digit changed: a wrong code of the same shape.
func incorrectCode(for code: String) -> String {
    guard let last = code.last, let digit = last.wholeNumberValue else { return "000000" }
    return String(code.dropLast()) + String((digit + 1) % 10)
}

/// `code` as a person types it: "123 456".
func spaced(_ code: String) -> String {
    code.count == 6 ? "\(code.prefix(3)) \(code.suffix(3))" : code
}
