import PeershareCore
import SodiumKit
import Testing

/// The CFRG CPace ristretto255/SHA-512 known answers (shared/vectors/cpace-ristretto255.txt).
enum CPaceVector {
    static let password = Array("Password".utf8)
    static let channelIdentifier = "0b415f696e69746961746f720b425f726573706f6e646572"
    static let sessionID = "7e4b4791d6a8ef019b936c79fb7f2c57"
    static let ya = "da3d23700a9e5699258aef94dc060dfda5ebb61f02a5ea77fad53f4ff0976d08"
    static let yb = "d2316b454718c35362d83d69df6320f38578ed5984651435e2949762d900b80d"
    static let adA = Array("ADa".utf8)
    static let adB = Array("ADb".utf8)
    static let g = "222b6b195fe84b1652badb6f6a3ae3d24341e7306967f0b8115b40d5698c7e56"
    static let shareA = "d6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f8d0eec482b9157"
    static let shareB = "3ea7e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7433f7258"
    static let k = "80b69a8a76457ab6a4d7f887a4bf6b55a2f80ac19c333f917a05fc9887c8b40f"
    static let iskIR = "b69effbf61b51d56401c0f65601abe428de8206feaaf0e32198896dcae7b35cd2b38950a39dfd5d4a79164614c2984f7daa460b588c1e80c3fa2068af7900447"
    static let iskSY = "544199d71f62f8d9a1fee55727e24fe4a45844593c2b6013c4fa3969d0e5debb2244675c0b43397cbb68d342b01fc0f98fc961469a25134de9f0f813c1a57476"
    static let s = "7cd0e075fa7955ba52c02759a6c90dbbfc10e6d40aea8d283e407d88cf538a05"
    static let x = "2c3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c"
    static let sTimesX = "7c13645fe790a468f62c39beb7388e541d8405d1ade69d1778c5fe3e7f6b600e"
    static let invalidEncoding = "2b3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c"
    static let identity = String(repeating: "0", count: 64)
}

@Suite("CPace ristretto255 known answers")
struct CPaceVectorTests {
    func generator() throws -> [UInt8] {
        try CPace.generator(password: CPaceVector.password,
                            channelIdentifier: hexBytes(CPaceVector.channelIdentifier),
                            sessionID: hexBytes(CPaceVector.sessionID))
    }

    @Test func generatorStringPadsTowardsTheHashBlock() throws {
        let text = CPace.generatorString(password: CPaceVector.password,
                                         channelIdentifier: try hexBytes(CPaceVector.channelIdentifier),
                                         sessionID: try hexBytes(CPaceVector.sessionID))
        // LV(DSI) 18 + LV(PRS) 9 + LV(zero_bytes(100)) 101 + LV(CI) 25 + LV(sid) 17
        #expect(text.count == 170)
        #expect(Array(text[27..<28]) == [100])
        #expect(text[28..<128].allSatisfy { $0 == 0 })
        // A 6-digit code gets 102 zero bytes.
        let codeText = CPace.generatorString(password: Array("428913".utf8), channelIdentifier: [], sessionID: [])
        #expect(codeText[25] == 102)
    }

    @Test func generatorMatches() throws {
        #expect(try generator() == hexBytes(CPaceVector.g))
    }

    @Test func sharesMatch() throws {
        let g = try generator()
        #expect(try CPace.share(scalar: SecretKey(bytes: hexBytes(CPaceVector.ya)), generator: g) == hexBytes(CPaceVector.shareA))
        #expect(try CPace.share(scalar: SecretKey(bytes: hexBytes(CPaceVector.yb)), generator: g) == hexBytes(CPaceVector.shareB))
    }

    @Test func sharedSecretMatchesFromBothSides() throws {
        let shareA = try hexBytes(CPaceVector.shareA)
        let shareB = try hexBytes(CPaceVector.shareB)
        let fromA = try CPace.sharedSecret(scalar: SecretKey(bytes: hexBytes(CPaceVector.ya)), ownShare: shareA, peerShare: shareB)
        let fromB = try CPace.sharedSecret(scalar: SecretKey(bytes: hexBytes(CPaceVector.yb)), ownShare: shareB, peerShare: shareA)
        #expect(fromA == (try hexBytes(CPaceVector.k)))
        #expect(fromB == fromA)
    }

    @Test func initiatorResponderISKMatches() throws {
        let isk = CPace.iskInitiatorResponder(sessionID: try hexBytes(CPaceVector.sessionID), sharedSecret: try hexBytes(CPaceVector.k),
                                              initiatorShare: try hexBytes(CPaceVector.shareA), initiatorData: CPaceVector.adA,
                                              responderShare: try hexBytes(CPaceVector.shareB), responderData: CPaceVector.adB)
        #expect(isk == (try hexBytes(CPaceVector.iskIR)))
    }

    @Test func symmetricISKMatchesInEitherOrder() throws {
        let sid = try hexBytes(CPaceVector.sessionID)
        let k = try hexBytes(CPaceVector.k)
        let shareA = try hexBytes(CPaceVector.shareA)
        let shareB = try hexBytes(CPaceVector.shareB)
        let expected = try hexBytes(CPaceVector.iskSY)
        #expect(CPace.iskSymmetric(sessionID: sid, sharedSecret: k, shareA: shareA, dataA: CPaceVector.adA,
                                   shareB: shareB, dataB: CPaceVector.adB) == expected)
        #expect(CPace.iskSymmetric(sessionID: sid, sharedSecret: k, shareA: shareB, dataA: CPaceVector.adB,
                                   shareB: shareA, dataB: CPaceVector.adA) == expected)
    }

    @Test func scalarMultiplicationMatches() throws {
        #expect(try CPace.multiply(scalar: SecretKey(bytes: hexBytes(CPaceVector.s)), point: hexBytes(CPaceVector.x))
                == hexBytes(CPaceVector.sTimesX))
    }

    @Test(arguments: [CPaceVector.invalidEncoding, CPaceVector.identity])
    func invalidPeerSharesAreRejected(point: String) throws {
        let bad = try hexBytes(point)
        let s = try SecretKey(bytes: hexBytes(CPaceVector.s))
        #expect(throws: HandshakeError.invalidPoint) { _ = try CPace.multiply(scalar: s, point: bad) }
        #expect(throws: HandshakeError.invalidPoint) {
            _ = try CPace.sharedSecret(scalar: SecretKey(bytes: hexBytes(CPaceVector.ya)),
                                       ownShare: hexBytes(CPaceVector.shareA), peerShare: bad)
        }
    }

    @Test func reflectedShareIsRejected() throws {
        let shareA = try hexBytes(CPaceVector.shareA)
        #expect(throws: HandshakeError.invalidPoint) {
            _ = try CPace.sharedSecret(scalar: SecretKey(bytes: hexBytes(CPaceVector.ya)), ownShare: shareA, peerShare: shareA)
        }
    }

    @Test func randomScalarsGiveAgreeingSecrets() throws {
        let g = try CPace.generator(password: Array("123456".utf8), channelIdentifier: [1], sessionID: [2])
        let a = CPace.randomScalar()
        let b = CPace.randomScalar()
        let shareA = try CPace.share(scalar: a, generator: g)
        let shareB = try CPace.share(scalar: b, generator: g)
        #expect(try CPace.sharedSecret(scalar: a, ownShare: shareA, peerShare: shareB)
                == CPace.sharedSecret(scalar: b, ownShare: shareB, peerShare: shareA))
        let otherG = try CPace.generator(password: Array("123457".utf8), channelIdentifier: [1], sessionID: [2])
        #expect(otherG != g)
    }
}

@Suite("Length-value encoding")
struct CPaceLengthValueTests {
    @Test(arguments: [
        (0, [0x00]), (1, [0x01]), (127, [0x7f]), (128, [0x80, 0x01]), (300, [0xac, 0x02]), (16384, [0x80, 0x80, 0x01]),
    ] as [(Int, [UInt8])])
    func leb128(value: Int, encoded: [UInt8]) {
        #expect(LV.leb128(value) == encoded)
    }

    @Test func catAndDecodeRoundTrip() {
        let items: [[UInt8]] = [[], [1], [UInt8](repeating: 9, count: 200)]
        let bytes = lvCat(items[0], items[1], items[2])
        #expect(bytes.count == 1 + 2 + 202)
        #expect(bytes == LV.cat(items))
        var offset = 0
        for item in items {
            #expect(LV.decode(bytes, at: &offset) == item)
        }
        #expect(offset == bytes.count)
        #expect(LV.decode(bytes, at: &offset) == nil)
    }

    @Test func decodeRejectsTruncatedAndOversizedItems() {
        var offset = 0
        #expect(LV.decode([3, 1, 2], at: &offset) == nil)
        #expect(offset == 0)
        #expect(LV.decode([0x80], at: &offset) == nil)
        #expect(LV.decode([0xff, 0xff, 0xff, 0xff, 0x7f], at: &offset) == nil)
        #expect(LV.decode([5, 1, 2, 3, 4, 5], at: &offset, maximumLength: 4) == nil)
    }
}
