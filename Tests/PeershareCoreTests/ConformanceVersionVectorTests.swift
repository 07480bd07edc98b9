import PeershareCore
import SodiumKit
import Testing

/// docs/vectors/version-1.1.json: what protocol 1.1 adds (the capabilities varint at the end
/// of OFFER and ACCEPT, HELLO), what it refuses, how capabilities are agreed, and which
/// version a sender dials again with after a refusal (docs/PROTOCOL.md, Versions).
@Suite("Conformance vectors: protocol 1.1")
struct ConformanceVersionVectorTests {
    struct MessageCase: Codable, Equatable {
        var name: String
        var meaning: String
        var hex: String
        var capabilities: UInt64?
    }

    struct Agreement: Codable, Equatable {
        var offered: UInt64
        var receiverImplements: UInt64
        var accept: UInt64
    }

    struct Fallback: Codable, Equatable {
        var offered: Int
        var abortText: String
        var dialAgainWith: Int?
    }

    struct VersionVector: Codable {
        var description: String
        var m1VersionBytes: [String: String]
        var valid: [MessageCase]
        var invalid: [MessageCase]
        var invalidIn1_0: [MessageCase]
        var agreement: [Agreement]
        var fallback: [Fallback]
    }

    static let summary = ConformanceWireVectorTests.firstContactSummary
    static let unknownBits = Capabilities(rawValue: 1 << 7 | 1 << 40)

    static func validMessages() -> [(name: String, meaning: String, message: StreamMessage)] {
        [
            ("OFFER", "the 1.0 OFFER of stream-messages.json, then capabilities 0", .offer(summary, capabilities: [])),
            ("OFFER with unknown bits", "capabilities with bits 7 and 40 set (a receiver that knows neither ignores both)",
             .offer(summary, capabilities: unknownBits)),
            ("ACCEPT", "receiver name \"bob\", capabilities 0", .accept(receiverName: "bob", capabilities: [])),
            ("HELLO", "name \"alice\", capabilities 0: a probe in place of OFFER", .hello(name: "alice", capabilities: [])),
            ("HELLO answer", "name \"bob\", capabilities with bit 7", .hello(name: "bob", capabilities: Capabilities(rawValue: 1 << 7))),
            ("TEXT", "the text \"héllo\" (6 UTF-8 bytes) in place of the ENTRY and DATA of a 6-byte file; capability text (bit 0) only",
             .text("héllo")),
        ]
    }

    /// Bytes a 1.1 session refuses (hex), written by hand from the document.
    static let invalidMessages: [(name: String, meaning: String, hex: String)] = [
        ("OFFER without capabilities", "a 1.1 OFFER must end with the capabilities varint",
         "01" + "05616c696365" + "01000006" + "01" + "0968656c6c6f2e747874" + "00"),
        ("ACCEPT without capabilities", "a 1.1 ACCEPT must end with the capabilities varint", "0203626f62"),
        ("capabilities not shortest", "ACCEPT with capabilities 0 written as 80 00", "0203626f628000"),
        ("capabilities over 64 bits", "a varint of 10 bytes whose last is 2", "0203626f62" + "ffffffffffffffffff02"),
        ("HELLO with a trailing byte", "nothing follows the capabilities", "1305616c6963650000"),
        ("HELLO with a control character", "names carry no control characters", "1302610a00"),
        ("TEXT not UTF-8", "a lone lead byte C3", "1402c328"),
        ("TEXT with a trailing byte", "nothing follows the text", "1401680a"),
        ("TEXT over 64 KiB", "a length of 65537 is refused before the bytes are read", "14818004"),
    ]

    static let invalidIn1_0: [(name: String, meaning: String, hex: String)] = [
        ("HELLO in 1.0", "0x13 is an unknown type in a 1.0 session", "1305616c69636500"),
        ("ACCEPT with capabilities in 1.0", "a 1.0 ACCEPT ends with the name", "0203626f6200"),
        ("TEXT in 1.0", "0x14 is an unknown type in a 1.0 session", "14026869"),
    ]

    static func computed() -> VersionVector {
        let valid = validMessages().map { item -> MessageCase in
            let capabilities: Capabilities? = switch item.message {
            case .offer(_, let bits), .accept(_, let bits), .hello(_, let bits): bits
            default: nil
            }
            return MessageCase(name: item.name, meaning: item.meaning, hex: hex(item.message.encode(version: .v1_1)),
                               capabilities: capabilities?.rawValue)
        }
        let agreement = [(0x81, 0x01), (0x01, 0), (0, 0x03), (0x06, 0x03)].map { offered, implements in
            Agreement(offered: UInt64(offered), receiverImplements: UInt64(implements),
                      accept: Capabilities.agreed(offered: Capabilities(rawValue: UInt64(offered)),
                                                  implemented: Capabilities(rawValue: UInt64(implements))).rawValue)
        }
        let fallback = [(2, HandshakeWire.unsupportedVersionText(2).replacingSupported(with: "1")),
                        (2, "unsupported protocol version 2; supported versions: 1,2,3"),
                        (2, "handshake refused"),
                        (1, "unsupported protocol version 1; supported versions: 2")].map { offered, text in
            Fallback(offered: offered, abortText: text,
                     dialAgainWith: ProtocolVersion(rawValue: UInt8(offered)).flatMap {
                         ProtocolVersion.fallback(refused: $0, abortText: text) }.map { Int($0.rawValue) })
        }
        return VersionVector(
            description: "Protocol 1.1 (version byte 2 in M1). valid: encode exactly so in a 1.1 session (capabilities is the varint at the end, as a number; TEXT has none). invalid: a 1.1 session refuses each. invalidIn1_0: a 1.0 session refuses each. agreement: the capabilities a receiver puts in ACCEPT. fallback: after an Abort 5 with abortText answering an M1 of version offered, the version a sender dials again with (absent: none).",
            m1VersionBytes: Dictionary(uniqueKeysWithValues: ProtocolVersion.allCases.map { ($0.description, hex([$0.rawValue])) }),
            valid: valid,
            invalid: invalidMessages.map { MessageCase(name: $0.name, meaning: $0.meaning, hex: $0.hex) },
            invalidIn1_0: invalidIn1_0.map { MessageCase(name: $0.name, meaning: $0.meaning, hex: $0.hex) },
            agreement: agreement, fallback: fallback)
    }

    @Test func messagesEncodeDecodeAndRefuseAsTheVector() throws {
        let computed = Self.computed()
        let vector: VersionVector = try VectorFiles.load("version-1.1.json", computed: computed)
        #expect(vector.valid == computed.valid)
        #expect(vector.invalid == computed.invalid)
        #expect(vector.invalidIn1_0 == computed.invalidIn1_0)
        for (name, _, message) in Self.validMessages() {
            let bytes = try hexBytes(try #require(vector.valid.first { $0.name == name }).hex)
            #expect(try StreamMessage.decode(bytes, version: .v1_1) == message, "\(name)")
        }
        for invalid in vector.invalid {
            #expect(throws: WireError.self, "\(invalid.name)") { try StreamMessage.decode(try hexBytes(invalid.hex), version: .v1_1) }
        }
        for invalid in vector.invalidIn1_0 {
            #expect(throws: WireError.self, "\(invalid.name)") { try StreamMessage.decode(try hexBytes(invalid.hex), version: .v1_0) }
        }
    }

    @Test func agreementAndFallbackMatchTheVector() throws {
        let computed = Self.computed()
        let vector: VersionVector = try VectorFiles.load("version-1.1.json", computed: computed)
        #expect(vector.m1VersionBytes == ["1.0": "01", "1.1": "02"])
        #expect(vector.agreement == computed.agreement)
        #expect(vector.fallback == computed.fallback)
        #expect(vector.fallback.map(\.dialAgainWith) == [1, 1, 1, nil])
        #expect(Capabilities.implemented.rawValue & (1 << 63) == 0, "bit 63 is reserved and never offered")
    }

    /// The version byte of M1 is the session's: a 1.1 sender and a 1.0 sender each get a
    /// session of their own version from the same receiver.
    @Test(arguments: [ProtocolVersion.v1_0, .v1_1])
    func theSessionSpeaksTheVersionOfM1(version: ProtocolVersion) throws {
        let senderIdentity = SigningKeyPair.generate(), receiverIdentity = SigningKeyPair.generate()
        let senderKey = senderIdentity.publicKey
        var sender = SenderHandshake(identity: senderIdentity, pinnedReceiver: receiverIdentity.publicKey, summary: [], version: version)
        var receiver = ReceiverHandshake(identity: receiverIdentity, isPinned: { $0 == senderKey })
        let m1 = try sender.makeM1()
        #expect(m1[4] == version.rawValue)
        let (m2, mode, _) = try receiver.handleM1(m1)
        #expect(mode == .known)
        #expect(receiver.version == version)
        _ = try sender.handleM2(m2)
        let m4 = try receiver.makeM4(code: nil)
        let (m5, senderOutcome) = try sender.handleM4(m4)
        let receiverOutcome = try receiver.handleM5(m5)
        #expect(senderOutcome.version == version)
        #expect(receiverOutcome.version == version)
    }
}

private extension String {
    /// The refusal text with another list of supported versions (as an older receiver says it).
    func replacingSupported(with list: String) -> String {
        guard let colon = lastIndex(of: ":") else { return self }
        return String(self[...colon]) + " " + list
    }
}
