import Foundation
@testable import PeershareAgent
import PeershareCore
import SodiumKit
import Testing
@testable import PeershareTransfer

/// docs/vectors/codes.json, the part that lives in the agent: the Abort frame's reasons and
/// layout (PeershareCoreTests check the rest of the file and write it).
@Suite("Conformance vectors: abort frames")
struct AbortVectorTests {
    struct CodesVector: Decodable {
        var tables: [String: [String: Int]]
        var abortExamples: [String: String]
    }

    static func load() throws -> CodesVector {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/vectors/codes.json")
        return try JSONDecoder().decode(CodesVector.self, from: Data(contentsOf: url))
    }

    @Test func abortReasonsAreTheVectorsAndNoOthers() throws {
        let reasons = try #require(try Self.load().tables["abortReasons"])
        let names: [String: AbortFrame.Reason] = ["declined": .declined, "wrongCode": .wrongCode, "expired": .expired,
                                                  "busy": .busy, "protocolError": .protocolError, "cancelled": .cancelled,
                                                  "security": .security]
        #expect(Set(reasons.keys) == Set(names.keys))
        for (name, reason) in names { #expect(reasons[name] == Int(reason.rawValue), "\(name)") }
        for raw in 0...255 where !reasons.values.contains(raw) {
            #expect(AbortFrame.Reason(rawValue: UInt8(raw)) == nil, "abort reason \(raw)")
        }
        #expect(Int(AbortFrame.type) == 0x7F)
    }

    @Test func abortFramesEncodeAsTheVector() throws {
        let examples = try Self.load().abortExamples
        let frames: [String: AbortFrame] = [
            "versionRefused": AbortFrame(reason: .protocolError, text: HandshakeWire.unsupportedVersionText(3)),
            "wrongCode": AbortFrame(reason: .wrongCode, text: "pairing failed"),
        ]
        #expect(Set(examples.keys) == Set(frames.keys))
        for (name, frame) in frames {
            #expect(Hex.encode(frame.encode()) == examples[name], "\(name)")
            let bytes = try #require(Hex.decode(examples[name] ?? ""))
            #expect(AbortFrame.decode(bytes) == frame, "\(name)")
        }
    }
}
