import Foundation
import PeershareAgent
@testable import PeershareTransfer
import Testing

/// The typed events and their JSON: every event the agent makes reads back as itself, and
/// a record this build does not know passes through unchanged.
@Suite("Event records")
struct EventRecordTests {
    static let failed = AgentEvent.Failed(transfer: "t1", message: "no", kind: "io", peer: "bob", fingerprint: "ab", address: "::1")
    static let offer = AgentEvent.OfferShown(offer: "o1", peer: "bob", fingerprint: "ab", address: "::1", needsCode: true, files: 2,
                                             directories: 1, totalBytes: 10, names: ["a"], expiresIn: 299.5, message: nil, text: nil)
    static let events: [AgentEvent] = [
        .sending(AgentEvent.Sending(transfer: "t1", address: "::1:5", addresses: ["::1:5"], files: 1, directories: 0, totalBytes: 3, names: ["x"])),
        .connected(AgentEvent.Connected(transfer: "t1", fingerprint: "ab", address: "::1:5", paired: false)),
        .code(AgentEvent.CodeShown(transfer: "t1", code: "123456", expiresIn: 300)),
        .waiting(transfer: "t1"),
        .accepted(transfer: "t1", peer: "bob"),
        .checking(AgentEvent.Checking(transfer: "t1", bytes: 5, file: "x")),
        .progress(AgentEvent.Progress(transfer: "t1", bytes: 1, totalBytes: 3, file: "x")),
        .warning(AgentEvent.Warning(transfer: nil, message: "careful")),
        .file(AgentEvent.FileSent(transfer: "t1", file: "x", bytes: 3, resumedBytes: nil)),
        .error(failed),
        .sessionEnded(failed),
        .offer(offer),
        .offerClosed(offer),
        .pairingFailed(AgentEvent.PairingFailed(offer: "o1", fingerprint: "ab", address: "::1", message: "wrong")),
        .peerAppeared(AgentEvent.PeerSeen(peer: "bob", fingerprint: nil, address: nil)),
        .discovery(message: "on"),
    ]

    @Test("each event reads back as itself, with its time and direction", arguments: events)
    func roundTrip(_ what: AgentEvent) throws {
        let event = TransferEvent(what, direction: .receive)
        let data = try ControlJSON.encoder().encode(event)
        let back = try ControlJSON.decoder().decode(TransferEvent.self, from: data)
        #expect(back == event)
        #expect(try ControlJSON.encoder().encode(back) == data)
    }

    @Test("an unknown event is kept whole")
    func unknown() throws {
        let line = #"{"direction":"sideways","event":"teleported","peer":"bob","time":"2026-12-07T21:04:53.123Z"}"#
        let event = try ControlJSON.decoder().decode(TransferEvent.self, from: Data(line.utf8))
        #expect(event.name == "teleported")
        #expect(String(decoding: try ControlJSON.encoder().encode(event), as: UTF8.self) == line)
    }
}
