// Byte layout of the session handshake (protocol versions 1.0 and 1.1, docs/PROTOCOL.md §3; known answers
// in docs/vectors/handshake-*.json).
//
// Every handshake message is one payload; the transport frames it with a 4-byte length. A payload
// over 65,536 bytes, or with missing or trailing bytes, is rejected (HandshakeError.malformed).
// Integers are big-endian. Mode byte: 1 = PAIR, 2 = KNOWN (anything else: malformed).
// Type byte: 1..5 = M1..M5; an unknown type is malformed, a known type out of turn is
// unexpectedMessage. Keys: X25519 (crypto_kx) ephemeral keys, Ed25519 identity keys.
//
// M1  S -> R   103 bytes
//   off len  field
//     0   4  magic "PSHR" (50 53 48 52)
//     4   1  version = 1 or 2       (1.0, 1.1; any other value: unsupportedVersion, answered by Abort 5)
//     5   1  type = 1
//     6   1  requested mode         (KNOWN only if S has R's identity key pinned)
//     7  32  nS                     (random)
//    39  32  eS_pk                  (crypto_kx_keypair, fresh per session)
//    71  32  IDs_pk                 (S's Ed25519 identity)
//
// M2  R -> S   98 bytes
//     0   1  type = 2
//     1   1  agreed mode            (KNOWN only if M1 asked KNOWN and IDs_pk is pinned on R)
//     2  32  nR
//    34  32  eR_pk
//    66  32  IDr_pk
//
// M3  S -> R   77 + summary bytes, PAIR mode only
//     0   1  type = 3
//     1  32  Ya                     (CPace share)
//    33   4  L = length of the sealed summary, 40 <= L <= 65,499
//    37   L  nonce (24) || crypto_secretbox_easy(summary) (16-byte MAC || ciphertext)
//
// M4  R -> S   PAIR: 129 bytes       KNOWN: 97 bytes
//     0   1  type = 4
//     1  32  Yb                     (PAIR only)
//     .  64  sigR
//     .  32  tagR
//
// M5  S -> R   97 bytes
//     0   1  type = 5
//     1  64  sigS
//    65  32  tagS
//
// Derivations (LV = LEB128 length || bytes, lv_cat = concatenation of LVs; "x" = ASCII bytes):
//   th          = crypto_generichash(64, lv_cat("peershare/v1/th", M1, M2))      (whole payloads)
//   kx_c2s, kx_s2c: S = crypto_kx_client_session_keys (rx = kx_s2c, tx = kx_c2s),
//                   R = crypto_kx_server_session_keys (rx = kx_c2s, tx = kx_s2c); -1 aborts
//   CPace (PAIR): PRS = the 6 ASCII digits of the code, CI = lv_cat(IDs_pk, IDr_pk), sid = th[0..<32],
//                 g = ristretto255_from_hash(SHA512(lv_cat("CPaceRistretto255", PRS, zero_bytes(102), CI, sid))),
//                 Ya = ya*g, Yb = yb*g, K = yb*Ya = ya*Yb (scalarmult -1 or Ya == Yb aborts),
//                 ISK = SHA512(lv_cat("CPaceRistretto255_ISK", sid, K, Ya, "", Yb, ""))
//   summaryKey  = crypto_generichash(32, lv_cat("peershare/v1/summary", th), key: kx_c2s)
//   summaryHash = crypto_generichash(32, summary plaintext) in PAIR mode, empty in KNOWN mode
//   PRK         = crypto_generichash(32, lv_cat("peershare/v1/prk", th, ISK or empty), key: kx_c2s || kx_s2c)
//   kConfS, kConfR, k_c2s, k_s2c = crypto_kdf_derive_from_key(32, id 1, 2, 3, 4, "pshr-hs1", PRK)
//   A_X  = lv_cat("peershare/v1/auth", X, th, Ya, Yb, summaryHash)   X = "R" or "S"; Ya, Yb empty in KNOWN
//   sigX = crypto_sign_detached(A_X, IDx_sk)
//   tagX = crypto_auth_hmacsha512256(A_X || LV(sigX), kConfX)
//   Checks: the tag first (crypto_auth_hmacsha512256_verify: wrong code or tampering), then the
//   signature against the identity key from M1/M2. S sends with k_c2s and receives with k_s2c.

import SodiumKit

/// Sizes and constants of the handshake wire format.
public enum HandshakeWire {
    /// Largest accepted handshake payload (64 KiB).
    public static let maximumMessageBytes = 65_536
    /// "PSHR", the first four bytes of M1.
    public static let magic: [UInt8] = Array("PSHR".utf8)
    /// The protocol version this agent puts in M1 (2 is protocol 1.1).
    public static let version: UInt8 = ProtocolVersion.highest.rawValue
    /// Every version this agent accepts in M1, lowest first.
    public static let supportedVersions: [UInt8] = ProtocolVersion.allCases.map(\.rawValue)

    /// The text of the Abort (reason 5) that answers an M1 of a version this agent does not
    /// speak. It names the versions it does speak, so that a newer sender can offer one of
    /// them on a new connection (docs/PROTOCOL.md, Versions).
    public static func unsupportedVersionText(_ offered: UInt8) -> String {
        "unsupported protocol version \(offered); supported versions: "
            + supportedVersions.map { String($0) }.joined(separator: ",")
    }
    /// Length of the random nonces nS and nR.
    public static let nonceBytes = 32
    /// Length of X25519 and Ed25519 public keys and ristretto255 elements.
    public static let keyBytes = 32
    /// Length of Ed25519 signatures.
    public static let signatureBytes = 64
    /// Length of confirmation tags (HMAC-SHA-512-256).
    public static let tagBytes = 32
    /// Fixed part of M3: type, Ya, sealed-summary length, secretbox nonce and MAC.
    static let m3FixedBytes = 1 + keyBytes + 4 + 24 + 16
    /// Largest offer summary that fits in M3.
    public static let maximumSummaryBytes = maximumMessageBytes - m3FixedBytes
}

/// Message type bytes.
package enum HandshakeMessageType: UInt8 {
    case m1 = 1, m2, m3, m4, m5
}

/// Reads fixed fields from a received payload.
struct HandshakeReader {
    private let bytes: [UInt8]
    private var offset = 0

    /// Starts reading `bytes`, rejecting payloads over the cap.
    init(_ bytes: [UInt8]) throws(HandshakeError) {
        guard bytes.count <= HandshakeWire.maximumMessageBytes else {
            throw .malformed("message of \(bytes.count) bytes is over the 64 KiB cap")
        }
        self.bytes = bytes
    }

    /// The next `count` bytes.
    mutating func read(_ count: Int, _ field: String) throws(HandshakeError) -> [UInt8] {
        guard count >= 0, bytes.count - offset >= count else { throw .malformed("truncated \(field)") }
        let value = Array(bytes[offset..<(offset + count)])
        offset += count
        return value
    }

    /// The next byte.
    mutating func readByte(_ field: String) throws(HandshakeError) -> UInt8 {
        guard offset < bytes.count else { throw .malformed("truncated \(field)") }
        let value = bytes[offset]
        offset += 1
        return value
    }

    /// The next 4-byte big-endian number.
    mutating func readUInt32(_ field: String) throws(HandshakeError) -> UInt32 {
        let raw = try read(4, field)
        return raw.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// The type byte, which must be `expected`.
    mutating func readType(_ expected: HandshakeMessageType) throws(HandshakeError) {
        let type = try readByte("message type")
        guard let known = HandshakeMessageType(rawValue: type) else {
            throw .malformed("unknown message type \(type)")
        }
        guard known == expected else { throw .unexpectedMessage }
    }

    /// The mode byte.
    mutating func readMode() throws(HandshakeError) -> HandshakeMode {
        let raw = try readByte("mode")
        guard let mode = HandshakeMode(rawValue: raw) else { throw .malformed("unknown mode \(raw)") }
        return mode
    }

    /// Fails if any bytes are left.
    func finish() throws(HandshakeError) {
        guard offset == bytes.count else { throw .malformed("\(bytes.count - offset) trailing bytes") }
    }
}

/// M1, S→R: magic, version, type, requested mode, nS, eS_pk, IDs_pk.
package struct HandshakeM1: Sendable, Equatable {
    package var version: ProtocolVersion
    package var mode: HandshakeMode
    package var nonce: [UInt8]
    package var ephemeralKey: [UInt8]
    package var identityKey: [UInt8]

    package init(mode: HandshakeMode, nonce: [UInt8], ephemeralKey: [UInt8], identityKey: [UInt8],
                 version: ProtocolVersion = .highest) {
        self.version = version
        self.mode = mode
        self.nonce = nonce
        self.ephemeralKey = ephemeralKey
        self.identityKey = identityKey
    }

    package static let byteCount = 4 + 1 + 1 + 1 + 3 * 32

    package var encoded: [UInt8] {
        HandshakeWire.magic + [version.rawValue, HandshakeMessageType.m1.rawValue, mode.rawValue]
            + nonce + ephemeralKey + identityKey
    }

    package init(parsing bytes: [UInt8]) throws(HandshakeError) {
        var reader = try HandshakeReader(bytes)
        let magic = try reader.read(4, "magic")
        guard magic == HandshakeWire.magic else { throw .malformed("not a peershare handshake (bad magic)") }
        let raw = try reader.readByte("version")
        guard let version = ProtocolVersion(rawValue: raw) else { throw .unsupportedVersion(raw) }
        self.version = version
        try reader.readType(.m1)
        mode = try reader.readMode()
        nonce = try reader.read(HandshakeWire.nonceBytes, "nS")
        ephemeralKey = try reader.read(HandshakeWire.keyBytes, "eS_pk")
        identityKey = try reader.read(HandshakeWire.keyBytes, "IDs_pk")
        try reader.finish()
    }
}

/// M2, R→S: type, agreed mode, nR, eR_pk, IDr_pk.
package struct HandshakeM2: Sendable, Equatable {
    package var mode: HandshakeMode
    package var nonce: [UInt8]
    package var ephemeralKey: [UInt8]
    package var identityKey: [UInt8]

    package init(mode: HandshakeMode, nonce: [UInt8], ephemeralKey: [UInt8], identityKey: [UInt8]) {
        self.mode = mode
        self.nonce = nonce
        self.ephemeralKey = ephemeralKey
        self.identityKey = identityKey
    }

    package static let byteCount = 1 + 1 + 3 * 32

    package var encoded: [UInt8] {
        [HandshakeMessageType.m2.rawValue, mode.rawValue] + nonce + ephemeralKey + identityKey
    }

    package init(parsing bytes: [UInt8]) throws(HandshakeError) {
        var reader = try HandshakeReader(bytes)
        try reader.readType(.m2)
        mode = try reader.readMode()
        nonce = try reader.read(HandshakeWire.nonceBytes, "nR")
        ephemeralKey = try reader.read(HandshakeWire.keyBytes, "eR_pk")
        identityKey = try reader.read(HandshakeWire.keyBytes, "IDr_pk")
        try reader.finish()
    }
}

/// M3, S→R (PAIR only): type, Ya, sealed-summary length, nonce || secretbox(summary).
package struct HandshakeM3: Sendable, Equatable {
    package var share: [UInt8]
    package var sealedSummary: [UInt8]

    package init(share: [UInt8], sealedSummary: [UInt8]) {
        self.share = share
        self.sealedSummary = sealedSummary
    }

    package var encoded: [UInt8] {
        let length = UInt32(sealedSummary.count)
        return [HandshakeMessageType.m3.rawValue] + share
            + [UInt8(length >> 24 & 0xff), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)]
            + sealedSummary
    }

    package init(parsing bytes: [UInt8]) throws(HandshakeError) {
        var reader = try HandshakeReader(bytes)
        try reader.readType(.m3)
        share = try reader.read(HandshakeWire.keyBytes, "Ya")
        let length = try reader.readUInt32("summary length")
        guard length >= 40 else { throw .malformed("sealed summary of \(length) bytes is too short") }
        sealedSummary = try reader.read(Int(length), "sealed summary")
        try reader.finish()
    }
}

/// M4, R→S: type, Yb (PAIR only), sigR, tagR.
package struct HandshakeM4: Sendable, Equatable {
    /// Yb in PAIR mode, empty in KNOWN mode.
    package var share: [UInt8]
    package var signature: [UInt8]
    package var tag: [UInt8]

    package init(share: [UInt8], signature: [UInt8], tag: [UInt8]) {
        self.share = share
        self.signature = signature
        self.tag = tag
    }

    package var encoded: [UInt8] {
        [HandshakeMessageType.m4.rawValue] + share + signature + tag
    }

    /// Parses M4 for `mode` (which decides whether Yb is present).
    package init(parsing bytes: [UInt8], mode: HandshakeMode) throws(HandshakeError) {
        var reader = try HandshakeReader(bytes)
        try reader.readType(.m4)
        share = mode == .pair ? try reader.read(HandshakeWire.keyBytes, "Yb") : []
        signature = try reader.read(HandshakeWire.signatureBytes, "sigR")
        tag = try reader.read(HandshakeWire.tagBytes, "tagR")
        try reader.finish()
    }
}

/// M5, S→R: type, sigS, tagS.
package struct HandshakeM5: Sendable, Equatable {
    package var signature: [UInt8]
    package var tag: [UInt8]

    package init(signature: [UInt8], tag: [UInt8]) {
        self.signature = signature
        self.tag = tag
    }

    package var encoded: [UInt8] {
        [HandshakeMessageType.m5.rawValue] + signature + tag
    }

    package init(parsing bytes: [UInt8]) throws(HandshakeError) {
        var reader = try HandshakeReader(bytes)
        try reader.readType(.m5)
        signature = try reader.read(HandshakeWire.signatureBytes, "sigS")
        tag = try reader.read(HandshakeWire.tagBytes, "tagS")
        try reader.finish()
    }
}
