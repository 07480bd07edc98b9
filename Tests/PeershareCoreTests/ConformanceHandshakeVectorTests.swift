import PeershareCore
import PeershareSpec
import SodiumKit
import Testing

/// docs/vectors/handshake-pair.json and handshake-known.json: M1–M5 byte for byte and every
/// derived value for fixed randomness and a fixed code. Each is computed twice: by running
/// `SenderHandshake` and `ReceiverHandshake` with fixed draws, and from the formulas of
/// docs/PROTOCOL.md §3 by `SpecHandshake` (PeershareSpec: the document's layouts and
/// derivations with libsodium primitives, no `HandshakeKeySchedule`, `CPace` or `LV`), which
/// the hostile peer also speaks.
@Suite("Conformance vectors: handshake")
struct ConformanceHandshakeVectorTests {
    struct HandshakeVector: Codable {
        var description: String
        var mode: String
        var inputs: [String: String]
        var derived: [String: String]
        var messages: [String: String]
    }

    /// The fixed inputs: counting bytes, so anyone can type them; the CPace scalars are the
    /// draft's ya and yb (valid scalars below the group order).
    static func inputs(mode: HandshakeMode) -> [String: String] {
        func run(_ start: Int, _ count: Int) -> String { hex((start..<(start + count)).map { UInt8($0) }) }
        var inputs = [
            "senderIdentitySeed": run(0x00, 32),
            "receiverIdentitySeed": run(0x20, 32),
            "senderEphemeralSecretKey": run(0x40, 32),
            "receiverEphemeralSecretKey": run(0x60, 32),
            "nS": run(0x80, 32),
            "nR": run(0xa0, 32),
        ]
        if mode == .pair {
            inputs["code"] = "428913"
            inputs["ya"] = CPaceVector.ya
            inputs["yb"] = CPaceVector.yb
            inputs["summary"] = hex(ConformanceWireVectorTests.firstContactSummary.encode())
            inputs["summaryNonce"] = run(0xc0, 24)
        }
        return inputs
    }

    /// What the spec's formulas give for `inputs`.
    static func specDerive(_ inputs: [String: String], mode: HandshakeMode) throws -> (derived: [String: String], messages: [String: String]) {
        func input(_ name: String) throws -> [UInt8] { try hexBytes(try #require(inputs[name], "missing input \(name)")) }
        let senderIdentity = try SigningKeyPair(seed: try input("senderIdentitySeed"))
        let receiverIdentity = try SigningKeyPair(seed: try input("receiverIdentitySeed"))
        let senderEphemeral = try KXKeyPair(secretKey: try input("senderEphemeralSecretKey"))
        let receiverEphemeral = try KXKeyPair(secretKey: try input("receiverEphemeralSecretKey"))
        let idS = senderIdentity.publicKey, idR = receiverIdentity.publicKey
        var derived: [String: String] = [
            "IDs_pk": hex(idS), "IDr_pk": hex(idR), "eS_pk": hex(senderEphemeral.publicKey), "eR_pk": hex(receiverEphemeral.publicKey),
        ]
        var messages: [String: String] = [:]

        let m1 = SpecHandshake.m1(mode: mode.rawValue, nonce: try input("nS"), ephemeralKey: senderEphemeral.publicKey, identityKey: idS)
        let m2 = SpecHandshake.m2(mode: mode.rawValue, nonce: try input("nR"), ephemeralKey: receiverEphemeral.publicKey,
                                  identityKey: idR)
        messages["M1"] = hex(m1)
        messages["M2"] = hex(m2)
        let th = try SpecHandshake.transcriptHash(m1: m1, m2: m2)
        let kx = try senderEphemeral.clientSessionKeys(serverPublicKey: receiverEphemeral.publicKey)
        let kxServer = try receiverEphemeral.serverSessionKeys(clientPublicKey: senderEphemeral.publicKey)
        #expect(kx.transmit == kxServer.receive && kx.receive == kxServer.transmit)
        let kxC2S = kx.transmit.bytes, kxS2C = kx.receive.bytes
        derived["th"] = hex(th)
        derived["kx_c2s"] = hex(kxC2S)
        derived["kx_s2c"] = hex(kxS2C)

        var ya: [UInt8] = [], yb: [UInt8] = [], isk: [UInt8] = [], summaryHash: [UInt8] = []
        if mode == .pair {
            let sid = Array(th.prefix(32))
            let generatorString = SpecHandshake.generatorString(code: try #require(inputs["code"]), senderIdentity: idS,
                                                                receiverIdentity: idR, sid: sid)
            let g = try SpecHandshake.generator(generatorString)
            let scalarA = try SecretKey(bytes: try input("ya")), scalarB = try SecretKey(bytes: try input("yb"))
            ya = try Ristretto255.multiply(scalar: scalarA, point: g)
            yb = try Ristretto255.multiply(scalar: scalarB, point: g)
            let k = try Ristretto255.multiply(scalar: scalarB, point: ya)
            #expect(try Ristretto255.multiply(scalar: scalarA, point: yb) == k)
            isk = SpecHandshake.isk(sid: sid, k: k, ya: ya, yb: yb)
            let summary = try input("summary")
            let summaryKey = try SpecHandshake.summaryKey(th: th, kxC2S: kxC2S)
            let sealed = try SecretBox.seal(summary, key: SecretKey(bytes: summaryKey), nonce: try input("summaryNonce"))
            summaryHash = try Hash.generic(summary, outputLength: 32)
            messages["M3"] = hex(SpecHandshake.m3(ya: ya, sealedSummary: sealed))
            derived.merge(["sid": hex(sid), "CI": hex(Spec.lvCat(idS, idR)), "generatorString": hex(generatorString), "g": hex(g),
                           "Ya": hex(ya), "Yb": hex(yb), "K": hex(k), "ISK": hex(isk), "summaryKey": hex(summaryKey),
                           "summaryHash": hex(summaryHash)]) { $1 }
        }

        let prk = try SpecHandshake.prk(th: th, isk: isk, kxC2S: kxC2S, kxS2C: kxS2C)
        let keys = try SpecHandshake.Keys(prk: prk)
        derived.merge(["PRK": hex(prk), "kConfS": hex(keys.confirmSender.bytes), "kConfR": hex(keys.confirmReceiver.bytes),
                       "k_c2s": hex(keys.senderToReceiver.bytes), "k_s2c": hex(keys.receiverToSender.bytes)]) { $1 }

        func confirm(_ role: String, _ identity: SigningKeyPair, _ key: SecretKey) -> (input: [UInt8], sig: [UInt8], tag: [UInt8]) {
            let authInput = SpecHandshake.authInput(role: role, th: th, ya: ya, yb: yb, summaryHash: summaryHash)
            let signature = identity.sign(authInput)
            return (authInput, signature, SpecHandshake.tag(authInput: authInput, signature: signature, key: key))
        }
        let r = confirm("R", receiverIdentity, keys.confirmReceiver)
        let s = confirm("S", senderIdentity, keys.confirmSender)
        derived.merge(["A_R": hex(r.input), "sigR": hex(r.sig), "tagR": hex(r.tag),
                       "A_S": hex(s.input), "sigS": hex(s.sig), "tagS": hex(s.tag)]) { $1 }
        messages["M4"] = hex(SpecHandshake.m4(yb: yb, signature: r.sig, tag: r.tag))
        messages["M5"] = hex(SpecHandshake.m5(signature: s.sig, tag: s.tag))
        return (derived, messages)
    }

    /// What the implementation sends with the same inputs, and the stream keys it ends with.
    static func implementationRun(_ inputs: [String: String], mode: HandshakeMode) throws -> (messages: [String: String], keys: [String: String]) {
        func input(_ name: String) throws -> [UInt8] { try hexBytes(try #require(inputs[name], "missing input \(name)")) }
        func optional(_ name: String) throws -> [UInt8]? { try inputs[name].map { try hexBytes($0) } }
        let senderIdentity = try SigningKeyPair(seed: try input("senderIdentitySeed"))
        let receiverIdentity = try SigningKeyPair(seed: try input("receiverIdentitySeed"))
        let code = inputs["code"].flatMap(PairingCode.init(typed:))
        let senderDraws = HandshakeDraws(ephemeralSecretKey: try input("senderEphemeralSecretKey"), nonce: try input("nS"),
                                         cpaceScalar: try optional("ya").map(SecretKey.init(bytes:)),
                                         pairingCode: code, summaryNonce: try optional("summaryNonce"))
        let receiverDraws = HandshakeDraws(ephemeralSecretKey: try input("receiverEphemeralSecretKey"), nonce: try input("nR"),
                                           cpaceScalar: try optional("yb").map(SecretKey.init(bytes:)))
        let pinnedSender = senderIdentity.publicKey
        var sender = SenderHandshake(identity: senderIdentity,
                                     pinnedReceiver: mode == .known ? receiverIdentity.publicKey : nil,
                                     summary: try optional("summary") ?? [], draws: senderDraws, version: .v1_0)
        var receiver = ReceiverHandshake(identity: receiverIdentity, isPinned: { mode == .known && $0 == pinnedSender },
                                         draws: receiverDraws)
        var messages: [String: String] = [:]
        let m1 = try sender.makeM1()
        let (m2, agreed, _) = try receiver.handleM1(m1)
        #expect(agreed == mode)
        messages["M1"] = hex(m1)
        messages["M2"] = hex(m2)
        var typed: PairingCode?
        if case let .pairing(shown, m3) = try sender.handleM2(m2) {
            messages["M3"] = hex(m3)
            #expect(try receiver.handleM3(m3) == (try optional("summary")))
            typed = shown
        }
        let m4 = try receiver.makeM4(code: typed)
        let (m5, senderOutcome) = try sender.handleM4(m4)
        let receiverOutcome = try receiver.handleM5(m5)
        messages["M4"] = hex(m4)
        messages["M5"] = hex(m5)
        #expect(senderOutcome.sendKey == receiverOutcome.receiveKey && senderOutcome.receiveKey == receiverOutcome.sendKey)
        return (messages, ["k_c2s": hex(senderOutcome.sendKey.bytes), "k_s2c": hex(senderOutcome.receiveKey.bytes)])
    }

    static func check(_ file: String, mode: HandshakeMode, description: String) throws {
        let inputs = inputs(mode: mode)
        let spec = try specDerive(inputs, mode: mode)
        let implementation = try implementationRun(inputs, mode: mode)
        let vector: HandshakeVector = try VectorFiles.load(file, computed: HandshakeVector(
            description: description, mode: mode == .pair ? "PAIR" : "KNOWN", inputs: inputs,
            derived: spec.derived, messages: implementation.messages))
        expectSameFields(vector.inputs, inputs, "inputs")
        expectSameFields(vector.derived, spec.derived, "derived (formulas of PROTOCOL.md §3)")
        expectSameFields(vector.messages, spec.messages, "messages built from PROTOCOL.md §3")
        expectSameFields(vector.messages, implementation.messages, "messages sent by SenderHandshake/ReceiverHandshake")
        #expect(vector.derived["k_c2s"] == implementation.keys["k_c2s"])
        #expect(vector.derived["k_s2c"] == implementation.keys["k_s2c"])
        // The implementation's own key schedule agrees on the values it exposes.
        let th = try hexBytes(try #require(vector.derived["th"]))
        #expect(hex(try HandshakeKeySchedule.transcriptHash(m1: try hexBytes(vector.messages["M1"] ?? ""),
                                                            m2: try hexBytes(vector.messages["M2"] ?? ""))) == vector.derived["th"])
        if mode == .pair {
            let summaryKey = try HandshakeKeySchedule.summaryKey(transcriptHash: th,
                                                                 kxSenderToReceiver: SecretKey(bytes: hexBytes(vector.derived["kx_c2s"] ?? "")))
            #expect(hex(summaryKey.bytes) == vector.derived["summaryKey"])
        }
    }

    @Test func pairModeMessagesAndKeysMatchTheVector() throws {
        try Self.check("handshake-pair.json", mode: .pair, description:
            "First contact (PAIR), code 428913. inputs: what each side would draw at random (identity seeds are Ed25519 seeds, crypto_sign_seed_keypair; ephemeral secret keys are X25519 secret keys, public = crypto_scalarmult_base). derived: every intermediate value of PROTOCOL.md section 3. messages: the handshake payloads, without the 4-byte frame length.")
    }

    @Test func knownModeMessagesAndKeysMatchTheVector() throws {
        try Self.check("handshake-known.json", mode: .known, description:
            "Paired peers (KNOWN): both sides have the other's identity key pinned, so there is no M3, no CPace, Ya = Yb = ISK = summaryHash = empty. Same identities, ephemeral keys and nonces as handshake-pair.json.")
    }

    /// A receiver refuses an M1 of a version it does not speak (the KNOWN vector's M1 with
    /// version 3), and the Abort it answers with names the versions it speaks.
    @Test func anotherVersionIsRefused() throws {
        let messages = try Self.specDerive(Self.inputs(mode: .known), mode: .known).messages
        var m1 = try hexBytes(try #require(messages["M1"]))
        m1[4] = 3
        var receiver = ReceiverHandshake(identity: SigningKeyPair.generate(), isPinned: { _ in false })
        #expect(throws: HandshakeError.unsupportedVersion(3)) { try receiver.handleM1(m1) }
        #expect(HandshakeWire.supportedVersions == [1, 2])
        #expect(HandshakeWire.unsupportedVersionText(3) == "unsupported protocol version 3; supported versions: 1,2")
    }
}
