import SodiumKit

/// CPace over ristretto255 with SHA-512 (draft-irtf-cfrg-cpace, "CPace-ristretto255-SHA512"), the
/// balanced PAKE that turns the 6-digit pairing code into a shared secret an attacker can test only
/// by one online guess per attempt. Checked against the draft's known answers
/// (`shared/vectors/cpace-ristretto255.txt`).
///
/// Flow: both sides compute the same generator `g` from the password, channel identifier and
/// session id; each draws a scalar `y`, sends `Y = y*g`, and computes `K = y*Y_peer`; the
/// intermediate session key `ISK` hashes `K` with both shares.
public enum CPace {
    /// Domain separation of the generator string.
    public static let dsi = "CPaceRistretto255"
    /// Domain separation of the intermediate session key.
    public static let dsiISK = "CPaceRistretto255_ISK"
    /// SHA-512's input block size, which the generator string is padded towards.
    static let hashBlockBytes = 128

    /// The generator string: `lv_cat(DSI, PRS, zero_bytes(len_zpad), CI, sid)` with
    /// `len_zpad = max(0, 128 - 1 - len(prepend_len(PRS)) - len(prepend_len(DSI)))`
    /// (100 zero bytes for an 8-byte password, 102 for a 6-digit code).
    public static func generatorString(password: [UInt8], channelIdentifier: [UInt8], sessionID: [UInt8]) -> [UInt8] {
        let dsiBytes = Array(dsi.utf8)
        let padding = max(0, hashBlockBytes - 1 - LV.encode(password).count - LV.encode(dsiBytes).count)
        return LV.cat(dsiBytes, password, [UInt8](repeating: 0, count: padding), channelIdentifier, sessionID)
    }

    /// The generator `g = crypto_core_ristretto255_from_hash(SHA512(generator string))`.
    public static func generator(password: [UInt8], channelIdentifier: [UInt8], sessionID: [UInt8]) throws(HandshakeError) -> [UInt8] {
        var input = generatorString(password: password, channelIdentifier: channelIdentifier, sessionID: sessionID)
        var hash = Hash.sha512(input)
        defer {
            Memory.wipe(&input)
            Memory.wipe(&hash)
        }
        do {
            return try Ristretto255.fromHash(hash)
        } catch {
            throw .invalidPoint
        }
    }

    /// A fresh secret scalar `y` (`crypto_core_ristretto255_scalar_random`).
    public static func randomScalar() -> SecretKey {
        Ristretto255.randomScalar()
    }

    /// `scalar * point` (`crypto_scalarmult_ristretto255`). Throws `invalidPoint` for an invalid
    /// encoding or an identity result (libsodium's -1).
    public static func multiply(scalar: SecretKey, point: [UInt8]) throws(HandshakeError) -> [UInt8] {
        do {
            return try Ristretto255.multiply(scalar: scalar, point: point)
        } catch {
            throw .invalidPoint
        }
    }

    /// This side's public share `Y = y*g`.
    public static func share(scalar: SecretKey, generator: [UInt8]) throws(HandshakeError) -> [UInt8] {
        try multiply(scalar: scalar, point: generator)
    }

    /// The shared point `K = y*Y_peer`. Throws `invalidPoint` if the peer's share is an invalid
    /// encoding or the identity (scalarmult's -1: `is_valid_point` alone would accept the all-zero
    /// identity encoding), or equal to our own share (a reflected message).
    public static func sharedSecret(scalar: SecretKey, ownShare: [UInt8], peerShare: [UInt8]) throws(HandshakeError) -> [UInt8] {
        guard !ConstantTime.equal(ownShare, peerShare) else { throw .invalidPoint }
        return try multiply(scalar: scalar, point: peerShare)
    }

    /// The initiator-responder ISK:
    /// `SHA512(lv_cat(DSI_ISK, sid, K) || lv_cat(Ya, ADa) || lv_cat(Yb, ADb))`.
    public static func iskInitiatorResponder(sessionID: [UInt8], sharedSecret: [UInt8],
                                            initiatorShare: [UInt8], initiatorData: [UInt8],
                                            responderShare: [UInt8], responderData: [UInt8]) -> [UInt8] {
        var input = LV.cat(Array(dsiISK.utf8), sessionID, sharedSecret, initiatorShare, initiatorData, responderShare, responderData)
        defer { Memory.wipe(&input) }
        return Hash.sha512(input)
    }

    /// The symmetric ("parallel") ISK:
    /// `SHA512(lv_cat(DSI_ISK, sid, K) || "oc" || larger || smaller)` where larger and smaller are
    /// `lv_cat(Ya, ADa)` and `lv_cat(Yb, ADb)` ordered lexicographically.
    public static func iskSymmetric(sessionID: [UInt8], sharedSecret: [UInt8],
                                    shareA: [UInt8], dataA: [UInt8],
                                    shareB: [UInt8], dataB: [UInt8]) -> [UInt8] {
        let first = LV.cat(shareA, dataA)
        let second = LV.cat(shareB, dataB)
        let ordered = lexicographicallyLarger(first, second) ? first + second : second + first
        var input = LV.cat(Array(dsiISK.utf8), sessionID, sharedSecret) + Array("oc".utf8) + ordered
        defer { Memory.wipe(&input) }
        return Hash.sha512(input)
    }

    /// The draft's `lexiographically_larger`: byte-wise, then the longer wins.
    static func lexicographicallyLarger(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        for (x, y) in zip(a, b) where x != y {
            return x > y
        }
        return a.count > b.count
    }
}
