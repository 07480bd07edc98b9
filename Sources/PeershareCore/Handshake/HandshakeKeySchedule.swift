import SodiumKit

/// The four keys the handshake derives from PRK.
package struct HandshakeKeys: Sendable {
    /// kConfS: the sender's confirmation (HMAC) key, KDF id 1.
    package let confirmSender: SecretKey
    /// kConfR: the receiver's confirmation (HMAC) key, KDF id 2.
    package let confirmReceiver: SecretKey
    /// k_c2s: the secretstream key from sender (kx client) to receiver, KDF id 3.
    package let senderToReceiver: SecretKey
    /// k_s2c: the secretstream key from receiver (kx server) to sender, KDF id 4.
    package let receiverToSender: SecretKey
}

/// The derivations of handshake.md steps 3–8, shared by both roles (and by tests that play a
/// misbehaving peer). Pure functions over bytes.
package enum HandshakeKeySchedule {
    /// Context of `crypto_kdf_derive_from_key` for the handshake keys.
    package static let kdfContext = "pshr-hs1"

    /// Role labels inside the authentication input.
    package enum Role: String {
        case sender = "S"
        case receiver = "R"
    }

    /// `th = crypto_generichash(64, lv_cat("peershare/v1/th", M1, M2))`.
    package static func transcriptHash(m1: [UInt8], m2: [UInt8]) throws(HandshakeError) -> [UInt8] {
        try crypto("transcript hash") { () throws(SodiumError) in
            try Hash.generic(LV.cat(Array("peershare/v1/th".utf8), m1, m2), outputLength: 64)
        }
    }

    /// CPace `sid = th[0..<32]`.
    package static func sessionID(transcriptHash th: [UInt8]) -> [UInt8] {
        Array(th.prefix(32))
    }

    /// CPace `CI = lv_cat(IDs_pk, IDr_pk)`.
    package static func channelIdentifier(senderIdentity: [UInt8], receiverIdentity: [UInt8]) -> [UInt8] {
        LV.cat(senderIdentity, receiverIdentity)
    }

    /// The CPace generator for this session and code.
    package static func generator(code: PairingCode, senderIdentity: [UInt8], receiverIdentity: [UInt8],
                                  transcriptHash th: [UInt8]) throws(HandshakeError) -> [UInt8] {
        try CPace.generator(password: code.passwordBytes,
                            channelIdentifier: channelIdentifier(senderIdentity: senderIdentity, receiverIdentity: receiverIdentity),
                            sessionID: sessionID(transcriptHash: th))
    }

    /// `ISK = SHA512(lv_cat("CPaceRistretto255_ISK", sid, K, Ya, "", Yb, ""))`.
    package static func intermediateSessionKey(transcriptHash th: [UInt8], sharedSecret: [UInt8],
                                               senderShare: [UInt8], receiverShare: [UInt8]) -> [UInt8] {
        CPace.iskInitiatorResponder(sessionID: sessionID(transcriptHash: th), sharedSecret: sharedSecret,
                                    initiatorShare: senderShare, initiatorData: [],
                                    responderShare: receiverShare, responderData: [])
    }

    /// The key that encrypts the offer summary in M3:
    /// `crypto_generichash(32, lv_cat("peershare/v1/summary", th), key: kx_c2s)`.
    package static func summaryKey(transcriptHash th: [UInt8], kxSenderToReceiver: SecretKey) throws(HandshakeError) -> SecretKey {
        try crypto("summary key") { () throws(SodiumError) in
            try Hash.derivedKey(LV.cat(Array("peershare/v1/summary".utf8), th), keyParts: [kxSenderToReceiver])
        }
    }

    /// `crypto_generichash(32, summary)`, which enters both authentication inputs.
    package static func summaryHash(_ summary: [UInt8]) throws(HandshakeError) -> [UInt8] {
        try crypto("summary hash") { () throws(SodiumError) in
            try Hash.generic(summary, outputLength: 32)
        }
    }

    /// `PRK = crypto_generichash(32, lv_cat("peershare/v1/prk", th, ISK or empty), key: kx_c2s || kx_s2c)`,
    /// then `crypto_kdf_derive_from_key` with context "pshr-hs1" and ids 1...4.
    package static func keys(transcriptHash th: [UInt8], intermediateSessionKey isk: [UInt8],
                             kxSenderToReceiver: SecretKey, kxReceiverToSender: SecretKey) throws(HandshakeError) -> HandshakeKeys {
        try crypto("key schedule") { () throws(SodiumError) in
            var input = LV.cat(Array("peershare/v1/prk".utf8), th, isk)
            defer { Memory.wipe(&input) }
            let prk = try Hash.derivedKey(input, keyParts: [kxSenderToReceiver, kxReceiverToSender])
            return HandshakeKeys(
                confirmSender: try KeyDerivation.derive(id: 1, context: kdfContext, from: prk),
                confirmReceiver: try KeyDerivation.derive(id: 2, context: kdfContext, from: prk),
                senderToReceiver: try KeyDerivation.derive(id: 3, context: kdfContext, from: prk),
                receiverToSender: try KeyDerivation.derive(id: 4, context: kdfContext, from: prk))
        }
    }

    /// `A_X = lv_cat("peershare/v1/auth", X, th, Ya, Yb, summaryHash)`.
    package static func authenticationInput(role: Role, transcriptHash th: [UInt8], senderShare: [UInt8],
                                            receiverShare: [UInt8], summaryHash: [UInt8]) -> [UInt8] {
        LV.cat(Array("peershare/v1/auth".utf8), Array(role.rawValue.utf8), th, senderShare, receiverShare, summaryHash)
    }

    /// `tag = crypto_auth_hmacsha512256(A || LV(sig), kConf)`.
    package static func confirmationTag(authenticationInput: [UInt8], signature: [UInt8], key: SecretKey) -> [UInt8] {
        HMACSHA512256.authenticate(authenticationInput + LV.encode(signature), key: key)
    }

    /// Checks a confirmation tag in constant time (`crypto_auth_hmacsha512256_verify`).
    package static func verifyConfirmationTag(_ tag: [UInt8], authenticationInput: [UInt8], signature: [UInt8], key: SecretKey) -> Bool {
        HMACSHA512256.verify(tag, message: authenticationInput + LV.encode(signature), key: key)
    }

    /// Runs a SodiumKit call, reporting its failure as `cryptoFailure`.
    package static func crypto<T>(_ what: String, _ body: () throws(SodiumError) -> T) throws(HandshakeError) -> T {
        do {
            return try body()
        } catch {
            throw .cryptoFailure("\(what): \(error)")
        }
    }
}
