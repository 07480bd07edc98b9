import SodiumKit
import Testing

/// Decodes test-vector hex; a typo in a vector fails the test instead of crashing.
func hexBytes(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [UInt8] {
    try #require(Hex.decode(text), "bad hex in test vector", sourceLocation: sourceLocation)
}

@Suite("SodiumKit primitives")
struct SodiumKitPrimitiveTests {
    @Test func initializeIsIdempotent() throws {
        try Sodium.initialize()
        try Sodium.initialize()
    }

    @Test func randomBytesHaveTheRightLengthAndVary() {
        #expect(Random.bytes(0).isEmpty)
        #expect(Random.bytes(-3).isEmpty)
        let a = Random.bytes(32)
        let b = Random.bytes(32)
        #expect(a.count == 32)
        #expect(a != b)
        for _ in 0..<1000 {
            #expect(Random.uniform(10) < 10)
        }
    }

    @Test func secretKeyNeedsThirtyTwoBytes() throws {
        #expect(throws: SodiumError.invalidKeyLength(expected: 32, actual: 31)) { _ = try SecretKey(bytes: Random.bytes(31)) }
        let bytes = Random.bytes(32)
        let key = try SecretKey(bytes: bytes)
        #expect(key.bytes == bytes)
        #expect(key == (try SecretKey(bytes: bytes)))
        #expect(key != SecretKey.random())
    }

    @Test func secretsAreNeverPrinted() throws {
        let bytes = [UInt8](repeating: 0xab, count: 32)
        let key = try SecretKey(bytes: bytes)
        let hex = Hex.encode(bytes)
        #expect("\(key)" == "SecretKey(redacted)")
        #expect(String(reflecting: key) == "SecretKey(redacted)")
        var dumped = ""
        dump(key, to: &dumped)
        #expect(!dumped.contains("171"))  // 0xab as a decimal element
        #expect(!dumped.contains(hex))

        let identity = SigningKeyPair.generate()
        let secretHex = Hex.encode(Array(identity.secretKeyBytes.prefix(32)))
        for text in ["\(identity)", String(reflecting: identity)] {
            #expect(!text.contains(secretHex))
            #expect(text.contains("redacted"))
        }
        let kx = KXKeyPair.generate()
        #expect("\(kx)".contains("redacted"))
    }

    @Test func signAndVerify() {
        let identity = SigningKeyPair.generate()
        let message = Array("peershare".utf8)
        let signature = identity.sign(message)
        #expect(identity.publicKey.count == 32)
        #expect(identity.secretKeyBytes.count == 64)
        #expect(signature.count == 64)
        #expect(Ed25519.verify(signature: signature, message: message, publicKey: identity.publicKey))
        #expect(!Ed25519.verify(signature: signature, message: message + [0], publicKey: identity.publicKey))
        var forged = signature
        forged[10] ^= 1
        #expect(!Ed25519.verify(signature: forged, message: message, publicKey: identity.publicKey))
        #expect(!Ed25519.verify(signature: signature, message: message, publicKey: SigningKeyPair.generate().publicKey))
        #expect(!Ed25519.verify(signature: Array(signature.dropLast()), message: message, publicKey: identity.publicKey))
        #expect(!Ed25519.verify(signature: signature, message: message, publicKey: Array(identity.publicKey.dropLast())))
        #expect(Ed25519.verify(signature: identity.sign([]), message: [], publicKey: identity.publicKey))
    }

    @Test func signingKeyRestoresFromItsSecretKey() throws {
        let identity = SigningKeyPair.generate()
        let restored = try SigningKeyPair(secretKey: identity.secretKeyBytes)
        #expect(restored.publicKey == identity.publicKey)
        #expect(Ed25519.verify(signature: restored.sign([1, 2, 3]), message: [1, 2, 3], publicKey: identity.publicKey))
    }

    @Test func damagedSigningKeyIsRejected() {
        let identity = SigningKeyPair.generate()
        #expect(throws: SodiumError.invalidSigningKey) { _ = try SigningKeyPair(secretKey: Array(identity.secretKeyBytes.prefix(63))) }
        // Seed of one key with the public half of another.
        let mixed = Array(identity.secretKeyBytes.prefix(32)) + SigningKeyPair.generate().publicKey
        #expect(throws: SodiumError.invalidSigningKey) { _ = try SigningKeyPair(secretKey: mixed) }
    }

    @Test func fingerprintFormat() throws {
        let publicKey = SigningKeyPair.generate().publicKey
        let full = Fingerprint.full(of: publicKey)
        #expect(full.wholeMatch(of: /[0-9a-f]{4}(-[0-9a-f]{4}){7}/) != nil)
        #expect(String(full.filter { $0 != "-" }) == Hex.encode(try Hash.generic(publicKey, outputLength: 16)))
        let short = Fingerprint.short(of: publicKey)
        #expect(short.wholeMatch(of: /[0-9a-f]{4}(-[0-9a-f]{4}){3}/) != nil)
        #expect(full.hasPrefix(short))
        #expect(Fingerprint.full(of: publicKey) == full)
        #expect(Fingerprint.full(of: SigningKeyPair.generate().publicKey) != full)
        #expect(Fingerprint.normalized(" 3F2A-9c01:77DE 4b10 ") == "3f2a9c0177de4b10")
        #expect(Hex.encode(try Hash.generic(publicKey, outputLength: 16)).hasPrefix(Fingerprint.normalized(short)))
    }

    @Test func knownHashAnswers() throws {
        // BLAKE2b-512("") and SHA-512("abc") from their specifications.
        #expect(try Hash.generic([], outputLength: 64) == hexBytes(
            "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce"))
        #expect(Hash.sha512(Array("abc".utf8)) == (try hexBytes(
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f")))
        let keyed = try Hash.generic([1], outputLength: 32, key: Random.bytes(32))
        #expect(keyed != (try Hash.generic([1], outputLength: 32)))
    }

    @Test(arguments: [0, 15, 65])
    func genericHashRejectsBadOutputLengths(length: Int) {
        #expect(throws: SodiumError.invalidHashLength(length)) { _ = try Hash.generic([], outputLength: length) }
    }

    @Test(arguments: [1, 15, 65])
    func genericHashRejectsBadKeyLengths(length: Int) {
        #expect(throws: SodiumError.invalidHashKeyLength(length)) {
            _ = try Hash.generic([], outputLength: 32, key: [UInt8](repeating: 7, count: length))
        }
    }

    @Test func constantTimeEquality() {
        #expect(ConstantTime.equal([], []))
        #expect(ConstantTime.equal([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equal([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equal([1, 2, 3], [1, 2]))
    }

    @Test func keyExchangeAgreesCrosswise() throws {
        let client = KXKeyPair.generate()
        let server = KXKeyPair.generate()
        let clientKeys = try client.clientSessionKeys(serverPublicKey: server.publicKey)
        let serverKeys = try server.serverSessionKeys(clientPublicKey: client.publicKey)
        #expect(clientKeys.transmit == serverKeys.receive)
        #expect(clientKeys.receive == serverKeys.transmit)
        #expect(clientKeys.transmit != clientKeys.receive)
    }

    @Test func keyExchangeRejectsLowOrderKeys() throws {
        let client = KXKeyPair.generate()
        let zero = [UInt8](repeating: 0, count: 32)
        var one = zero
        one[0] = 1
        for lowOrder in [zero, one] {
            #expect(throws: SodiumError.keyExchangeFailed) { _ = try client.clientSessionKeys(serverPublicKey: lowOrder) }
            #expect(throws: SodiumError.keyExchangeFailed) { _ = try client.serverSessionKeys(clientPublicKey: lowOrder) }
        }
    }

    @Test func secretBoxRoundTripAndTamper() throws {
        let key = SecretKey.random()
        for plaintext in [[], Array("summary".utf8)] as [[UInt8]] {
            let sealed = try SecretBox.seal(plaintext, key: key)
            #expect(sealed.count == plaintext.count + 40)
            #expect(try SecretBox.open(sealed, key: key) == plaintext)
            var tampered = sealed
            tampered[tampered.count - 1] ^= 0x80
            #expect(throws: SodiumError.boxDecryptionFailed) { _ = try SecretBox.open(tampered, key: key) }
            #expect(throws: SodiumError.boxDecryptionFailed) { _ = try SecretBox.open(sealed, key: SecretKey.random()) }
        }
        #expect(throws: SodiumError.ciphertextTooShort(39)) { _ = try SecretBox.open(Random.bytes(39), key: key) }
    }

    @Test func keyDerivationAndHMAC() throws {
        let master = SecretKey.random()
        let first = try KeyDerivation.derive(id: 1, context: "pshr-hs1", from: master)
        #expect(first == (try KeyDerivation.derive(id: 1, context: "pshr-hs1", from: master)))
        #expect(first != (try KeyDerivation.derive(id: 2, context: "pshr-hs1", from: master)))
        #expect(first != (try KeyDerivation.derive(id: 1, context: "pshr-hs2", from: master)))
        #expect(throws: SodiumError.invalidDerivationParameters) { _ = try KeyDerivation.derive(id: 1, context: "short", from: master) }

        let tag = HMACSHA512256.authenticate([1, 2, 3], key: first)
        #expect(tag.count == 32)
        #expect(HMACSHA512256.verify(tag, message: [1, 2, 3], key: first))
        #expect(!HMACSHA512256.verify(tag, message: [1, 2, 4], key: first))
        #expect(!HMACSHA512256.verify(Array(tag.dropLast()), message: [1, 2, 3], key: first))
    }
}
