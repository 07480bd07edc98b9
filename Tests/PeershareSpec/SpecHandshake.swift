import SodiumKit

/// The handshake of docs/PROTOCOL.md §3, written from the document alone: message layouts
/// from its offset tables, values from its "Derivations" block, each a libsodium primitive
/// (SodiumKit) and nothing of PeershareCore's handshake, key schedule or encoders. The
/// conformance vectors are checked against it, and the hostile peer speaks it, so a
/// deviation from the document that the product's sender and receiver share still shows.
public enum SpecHandshake {
    /// Mode bytes (§3).
    public static let pair: UInt8 = 1, known: UInt8 = 2
    public static let magic = Spec.ascii("PSHR")
    public static let version: UInt8 = 1

    /// M1: magic, version, type 1, mode, nS, eS_pk, IDs_pk (103 bytes).
    public static func m1(mode: UInt8, nonce: [UInt8], ephemeralKey: [UInt8], identityKey: [UInt8]) -> [UInt8] {
        magic + [version, 1, mode] + nonce + ephemeralKey + identityKey
    }

    /// M2: type 2, mode, nR, eR_pk, IDr_pk (98 bytes).
    public static func m2(mode: UInt8, nonce: [UInt8], ephemeralKey: [UInt8], identityKey: [UInt8]) -> [UInt8] {
        [2, mode] + nonce + ephemeralKey + identityKey
    }

    /// M1's fields at the document's offsets.
    public struct M1: Sendable {
        public let mode: UInt8, nonce: [UInt8], ephemeralKey: [UInt8], identityKey: [UInt8]

        public init(parsing bytes: [UInt8]) throws(SpecError) {
            guard bytes.count == 103, Array(bytes[0..<4]) == magic, bytes[5] == 1 else { throw .malformed("M1") }
            mode = bytes[6]
            nonce = Array(bytes[7..<39])
            ephemeralKey = Array(bytes[39..<71])
            identityKey = Array(bytes[71..<103])
        }
    }

    /// M2's fields at the document's offsets.
    public struct M2: Sendable {
        public let mode: UInt8, nonce: [UInt8], ephemeralKey: [UInt8], identityKey: [UInt8]

        public init(parsing bytes: [UInt8]) throws(SpecError) {
            guard bytes.count == 98, bytes[0] == 2 else { throw .malformed("M2") }
            mode = bytes[1]
            nonce = Array(bytes[2..<34])
            ephemeralKey = Array(bytes[34..<66])
            identityKey = Array(bytes[66..<98])
        }
    }

    /// M3: type 3, Ya, the sealed summary's length (4 bytes), the sealed summary.
    public static func m3(ya: [UInt8], sealedSummary: [UInt8]) -> [UInt8] {
        [3] + ya + Spec.bigEndian(UInt64(sealedSummary.count), count: 4) + sealedSummary
    }

    /// M4: type 4, Yb (PAIR only), sigR, tagR.
    public static func m4(yb: [UInt8], signature: [UInt8], tag: [UInt8]) -> [UInt8] { [4] + yb + signature + tag }

    /// M5: type 5, sigS, tagS.
    public static func m5(signature: [UInt8], tag: [UInt8]) -> [UInt8] { [5] + signature + tag }

    /// th = crypto_generichash(64, lv_cat("peershare/v1/th", M1, M2)).
    public static func transcriptHash(m1: [UInt8], m2: [UInt8]) throws -> [UInt8] {
        try Hash.generic(Spec.lvCat(Spec.ascii("peershare/v1/th"), m1, m2), outputLength: 64)
    }

    /// lv_cat("CPaceRistretto255", PRS, zero_bytes(102), CI, sid), CI = lv_cat(IDs_pk, IDr_pk).
    public static func generatorString(code: String, senderIdentity: [UInt8], receiverIdentity: [UInt8], sid: [UInt8]) -> [UInt8] {
        Spec.lvCat(Spec.ascii("CPaceRistretto255"), Spec.ascii(code), [UInt8](repeating: 0, count: 102),
                   Spec.lvCat(senderIdentity, receiverIdentity), sid)
    }

    /// g = crypto_core_ristretto255_from_hash(SHA512(generator string)).
    public static func generator(_ generatorString: [UInt8]) throws -> [UInt8] {
        try Ristretto255.fromHash(Hash.sha512(generatorString))
    }

    /// ISK = SHA512(lv_cat("CPaceRistretto255_ISK", sid, K, Ya, "", Yb, "")).
    public static func isk(sid: [UInt8], k: [UInt8], ya: [UInt8], yb: [UInt8]) -> [UInt8] {
        Hash.sha512(Spec.lvCat(Spec.ascii("CPaceRistretto255_ISK"), sid, k, ya, [], yb, []))
    }

    /// summaryKey = crypto_generichash(32, lv_cat("peershare/v1/summary", th), key = kx_c2s).
    public static func summaryKey(th: [UInt8], kxC2S: [UInt8]) throws -> [UInt8] {
        try Hash.generic(Spec.lvCat(Spec.ascii("peershare/v1/summary"), th), outputLength: 32, key: kxC2S)
    }

    /// PRK = crypto_generichash(32, lv_cat("peershare/v1/prk", th, ISK or ""), key = kx_c2s ‖ kx_s2c).
    public static func prk(th: [UInt8], isk: [UInt8], kxC2S: [UInt8], kxS2C: [UInt8]) throws -> [UInt8] {
        try Hash.generic(Spec.lvCat(Spec.ascii("peershare/v1/prk"), th, isk), outputLength: 32, key: kxC2S + kxS2C)
    }

    /// kConfS, kConfR, k_c2s, k_s2c = crypto_kdf_derive_from_key(32, 1...4, "pshr-hs1", PRK).
    public struct Keys: Sendable {
        public let confirmSender: SecretKey, confirmReceiver: SecretKey, senderToReceiver: SecretKey, receiverToSender: SecretKey

        public init(prk: [UInt8]) throws {
            let key = try SecretKey(bytes: prk)
            func derive(_ id: UInt64) throws -> SecretKey { try KeyDerivation.derive(id: id, context: "pshr-hs1", from: key) }
            confirmSender = try derive(1)
            confirmReceiver = try derive(2)
            senderToReceiver = try derive(3)
            receiverToSender = try derive(4)
        }
    }

    /// A_X = lv_cat("peershare/v1/auth", X, th, Ya, Yb, summaryHash); X is "R" or "S".
    public static func authInput(role: String, th: [UInt8], ya: [UInt8], yb: [UInt8], summaryHash: [UInt8]) -> [UInt8] {
        Spec.lvCat(Spec.ascii("peershare/v1/auth"), Spec.ascii(role), th, ya, yb, summaryHash)
    }

    /// tagX = crypto_auth_hmacsha512256(A_X ‖ LV(sigX), kConfX).
    public static func tag(authInput: [UInt8], signature: [UInt8], key: SecretKey) -> [UInt8] {
        HMACSHA512256.authenticate(authInput + Spec.lvCat(signature), key: key)
    }

    /// Whether `tag` is tagX for `authInput` and `signature` (crypto_auth_hmacsha512256_verify).
    public static func verifyTag(_ tag: [UInt8], authInput: [UInt8], signature: [UInt8], key: SecretKey) -> Bool {
        HMACSHA512256.verify(tag, message: authInput + Spec.lvCat(signature), key: key)
    }
}

/// Why the spec sender stopped.
public enum SpecError: Error, Equatable, CustomStringConvertible, Sendable {
    case malformed(String)
    /// M2 answered KNOWN to a PAIR request.
    case downgrade
    /// M2's IDr_pk is not the pinned key.
    case pinMismatch
    /// crypto_kx_client_session_keys returned -1.
    case keyExchange
    /// K could not be computed, or Ya == Yb.
    case invalidShare
    /// tagR did not verify: a wrong code, or tampering.
    case wrongConfirmation
    /// sigR did not verify against IDr_pk.
    case badSignature

    public var description: String {
        switch self {
        case .malformed(let what): "malformed \(what)"
        case .downgrade: "M2 answered KNOWN to a PAIR request"
        case .pinMismatch: "IDr_pk in M2 is not the pinned key"
        case .keyExchange: "the key exchange failed (crypto_kx_client_session_keys)"
        case .invalidShare: "Yb is invalid or equals Ya"
        case .wrongConfirmation: "tagR does not verify (wrong code or tampering)"
        case .badSignature: "sigR does not verify against IDr_pk"
        }
    }
}
