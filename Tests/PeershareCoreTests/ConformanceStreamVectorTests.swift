import PeershareCore
import PeershareSpec
import SodiumKit
import Testing

/// docs/vectors/secretstream.json and cpace-ristretto255.json: the encrypted stream of the
/// first-contact example (both directions, header and frames, under the keys of
/// handshake-pair.json), and the CPace draft's known answers.
@Suite("Conformance vectors: secretstream and CPace")
struct ConformanceStreamVectorTests {
    struct Frame: Codable, Equatable {
        var message: String
        var plaintext: String
        var final: Bool
        var ciphertext: String
        var wire: String
    }

    struct Direction: Codable, Equatable {
        var key: String
        var header: String
        var headerWire: String
        var frames: [Frame]
    }

    struct StreamVector: Codable {
        var description: String
        var senderToReceiver: Direction
        var receiverToSender: Direction
    }

    static func frameBytes(_ payload: [UInt8]) -> [UInt8] {
        Spec.bigEndian(UInt64(payload.count), count: 4) + payload
    }

    /// Seals `messages` under `key` with the fixed `header`; the last one carries TAG_FINAL.
    static func direction(key: [UInt8], header: [UInt8], messages: [(String, StreamMessage)]) throws -> Direction {
        var pusher = try SecretStreamPusher(key: SecretKey(bytes: key), header: header)
        var frames: [Frame] = []
        for (index, (name, message)) in messages.enumerated() {
            let plaintext = message.encode()
            let final = index == messages.count - 1
            let ciphertext = try pusher.push(plaintext, final: final)
            frames.append(Frame(message: name, plaintext: hex(plaintext), final: final, ciphertext: hex(ciphertext),
                                wire: hex(frameBytes(ciphertext))))
        }
        return Direction(key: hex(key), header: hex(header), headerWire: hex(frameBytes(header)), frames: frames)
    }

    @Test func firstContactStreamMatchesTheVector() throws {
        // The keys of handshake-pair.json, as its test computes them (so writing all files at
        // once does not depend on the order the tests run in).
        let inputs = ConformanceHandshakeVectorTests.inputs(mode: .pair)
        let derived = try ConformanceHandshakeVectorTests.specDerive(inputs, mode: .pair).derived
        let c2s = try hexBytes(try #require(derived["k_c2s"]))
        let s2c = try hexBytes(try #require(derived["k_s2c"]))
        let file = try ConformanceWireVectorTests.entry(.file, "hello.txt", size: 6, mode: 0o644, seconds: 1_700_000_000, nanoseconds: 5)
        let computed = StreamVector(
            description: "The encrypted streams of the first-contact example after handshake-pair.json: S sends with k_c2s, R with k_s2c (crypto_secretstream_xchacha20poly1305). Each side first sends its 24-byte header as one frame, then one frame per message; every message has TAG_MESSAGE (0) except the last, TAG_FINAL (3). The headers are fixed here; a real sender draws them at random (init_push). wire = 4-byte big-endian length + payload.",
            senderToReceiver: try Self.direction(key: c2s, header: (0..<24).map { UInt8(0xe0 &+ $0) }, messages: [
                ("OFFER", .offer(ConformanceWireVectorTests.firstContactSummary)), ("ENTRY", .entry(file)),
                ("DATA", .data(Array("hello\n".utf8))), ("END", .end(files: 1, bytes: 6)),
            ]),
            receiverToSender: try Self.direction(key: s2c, header: (0..<24).map { UInt8(0x50 &+ $0) }, messages: [
                ("ACCEPT", .accept(receiverName: "bob")), ("HOLDING", .holding(last: true, records: [])),
                ("DONE", .done(files: 1, bytes: 6)),
            ]))
        let vector: StreamVector = try VectorFiles.load("secretstream.json", computed: computed)
        #expect(vector.senderToReceiver == computed.senderToReceiver)
        #expect(vector.receiverToSender == computed.receiverToSender)
        // The OFFER is byte-identical to the summary sealed in M3.
        #expect(vector.senderToReceiver.frames.first?.plaintext == "01" + (inputs["summary"] ?? ""))

        for direction in [vector.senderToReceiver, vector.receiverToSender] {
            var puller = try SecretStreamPuller(key: SecretKey(bytes: hexBytes(direction.key)), header: hexBytes(direction.header))
            for frame in direction.frames {
                let (plaintext, isFinal) = try puller.pull(try hexBytes(frame.ciphertext))
                #expect(hex(plaintext) == frame.plaintext)
                #expect(isFinal == frame.final)
                _ = try StreamMessage.decode(plaintext)
            }
        }
    }

    struct CPaceVectorFile: Codable {
        var description: String
        var values: [String: String]
        var mustReject: [String: String]
    }

    @Test func cpaceKnownAnswersMatchTheVector() throws {
        let computed = CPaceVectorFile(
            description: "CPace-ristretto255-SHA512 known answers of draft-irtf-cfrg-cpace (appendix), reproduced with libsodium 1.0.18. PRS is ASCII \"Password\" (hex below); the generator string pads with 100 zero bytes for this 8-byte PRS (102 for peershare's 6-digit code). ISK_IR is the initiator-responder ISK peershare uses; ISK_SY the symmetric one. mustReject: shares crypto_scalarmult_ristretto255 refuses (-1).",
            values: ["PRS": hex(CPaceVector.password), "CI": CPaceVector.channelIdentifier, "sid": CPaceVector.sessionID,
                     "ya": CPaceVector.ya, "yb": CPaceVector.yb, "ADa": hex(CPaceVector.adA), "ADb": hex(CPaceVector.adB),
                     "g": CPaceVector.g, "Ya": CPaceVector.shareA, "Yb": CPaceVector.shareB, "K": CPaceVector.k,
                     "ISK_IR": CPaceVector.iskIR, "ISK_SY": CPaceVector.iskSY,
                     "s": CPaceVector.s, "X": CPaceVector.x, "s*X": CPaceVector.sTimesX],
            mustReject: ["invalidEncoding": CPaceVector.invalidEncoding, "identity": CPaceVector.identity])
        let vector: CPaceVectorFile = try VectorFiles.load("cpace-ristretto255.json", computed: computed)
        expectSameFields(vector.values, computed.values, "cpace")
        expectSameFields(vector.mustReject, computed.mustReject, "cpace.mustReject")
        // The formulas with raw calls, from the file's values.
        func value(_ name: String) throws -> [UInt8] { try hexBytes(try #require(vector.values[name])) }
        let generatorString = Spec.lvCat(Spec.ascii("CPaceRistretto255"), try value("PRS"), [UInt8](repeating: 0, count: 100),
                                         try value("CI"), try value("sid"))
        let g = try Ristretto255.fromHash(Hash.sha512(generatorString))
        #expect(g == (try value("g")))
        let ya = try Ristretto255.multiply(scalar: SecretKey(bytes: value("ya")), point: g)
        let yb = try Ristretto255.multiply(scalar: SecretKey(bytes: value("yb")), point: g)
        let expectedYa = try value("Ya"), expectedYb = try value("Yb")
        #expect(ya == expectedYa && yb == expectedYb)
        let k = try Ristretto255.multiply(scalar: SecretKey(bytes: value("yb")), point: ya)
        #expect(k == (try value("K")))
        #expect(Hash.sha512(Spec.lvCat(Spec.ascii("CPaceRistretto255_ISK"), try value("sid"), k, ya, try value("ADa"), yb, try value("ADb")))
                == (try value("ISK_IR")))
        for (name, point) in vector.mustReject {
            #expect(throws: SodiumError.self, "\(name)") {
                try Ristretto255.multiply(scalar: SecretKey(bytes: value("s")), point: hexBytes(point))
            }
        }
    }
}
