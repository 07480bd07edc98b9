import PeershareCore
import PeershareSpec
import SodiumKit
import Testing

/// docs/vectors/offer-summary.json, resume.json, fingerprint.json and codes.json: the
/// OfferSummary encoding, the resume keys, the fingerprint people compare, and every code
/// number. Keys and fingerprints are also computed from the document's formulas.
@Suite("Conformance vectors: summary, resume, fingerprint, codes")
struct ConformanceValueVectorTests {
    struct SummaryCase: Codable, Equatable {
        var name: String
        var meaning: String
        var senderName: String
        var fileCount: UInt64
        var directoryCount: UInt64
        var symlinkCount: UInt64
        var totalBytes: UInt64
        var topLevelNames: [String]
        var moreTopLevelNames: UInt64
        var hex: String
    }

    struct SummaryVector: Codable {
        var description: String
        var cases: [SummaryCase]
    }

    static let summaries: [(name: String, meaning: String, summary: OfferSummary)] = [
        ("one file", "the first-contact example: alice sends hello.txt (6 bytes)", ConformanceWireVectorTests.firstContactSummary),
        ("a folder and a file", "alice sends folder photos (photos/a.jpg 1000 bytes, photos/raw/b.raw 300000 bytes) and notes.txt (12 bytes): directoryCount 2 counts photos itself and photos/raw",
         OfferSummary(senderName: "alice", fileCount: 3, directoryCount: 2, symlinkCount: 0, totalBytes: 301_012,
                      topLevelNames: ["photos", "notes.txt"])),
    ]

    @Test func summariesEncodeAsTheVector() throws {
        let computed = SummaryVector(
            description: "OfferSummary: the body of OFFER and the plaintext sealed in M3 (no type byte). Counts cover every entry of the offer: directoryCount includes each top-level folder itself.",
            cases: Self.summaries.map { name, meaning, s in
                SummaryCase(name: name, meaning: meaning, senderName: s.senderName, fileCount: s.fileCount,
                            directoryCount: s.directoryCount, symlinkCount: s.symlinkCount, totalBytes: s.totalBytes,
                            topLevelNames: s.topLevelNames, moreTopLevelNames: s.moreTopLevelNames, hex: hex(s.encode()))
            })
        let vector: SummaryVector = try VectorFiles.load("offer-summary.json", computed: computed)
        #expect(vector.cases == computed.cases)
        for (index, (_, _, summary)) in Self.summaries.enumerated() {
            #expect(try OfferSummary.decode(try hexBytes(vector.cases[index].hex)) == summary)
        }
    }

    struct ResumeCase: Codable, Equatable {
        var path: String
        var size: UInt64
        var mtimeSeconds: Int64
        var mtimeNanoseconds: UInt32
        var hashInput: String
        var fileKey: String
        var partName: String
    }

    struct ResumeVector: Codable {
        var description: String
        var senderIdentityKey: String
        var senderTag: String
        var files: [ResumeCase]
        var prefixData: String
        var prefixHash: String
    }

    static let resumeFiles: [(path: String, size: UInt64, seconds: Int64, nanoseconds: UInt32)] = [
        ("hello.txt", 6, 1_700_000_000, 5),
        ("photos/raw/b.raw", 300_000, -1, 999_999_999),
    ]

    @Test func resumeKeysMatchTheVectorAndTheFormula() throws {
        let sender = try SigningKeyPair(seed: (0..<32).map { UInt8($0) }).publicKey
        let tagInput = Spec.lvCat(Spec.ascii("peershare/v1/resume-sender"), sender)
        let senderTag = hex(try Hash.generic(tagInput, outputLength: 16))
        let files = try Self.resumeFiles.map { path, size, seconds, nanoseconds in
            // One LV item holds size, seconds and nanoseconds together (24 bytes).
            let input = Spec.lvCat(Spec.ascii("peershare/v1/resume-file"), sender, Spec.ascii(path),
                                   Spec.bigEndian(size, count: 8) + Spec.bigEndian(UInt64(bitPattern: seconds), count: 8)
                                       + Spec.bigEndian(UInt64(nanoseconds), count: 4))
            let key = hex(try Hash.generic(input, outputLength: 16))
            return ResumeCase(path: path, size: size, mtimeSeconds: seconds, mtimeNanoseconds: nanoseconds,
                              hashInput: hex(input), fileKey: key, partName: "\(senderTag)-\(key).part")
        }
        let prefixData = Array("hello\n".utf8)
        let computed = ResumeVector(
            description: "Resume keys (PROTOCOL.md section 6). fileKey = BLAKE2b-128 of hashInput = lv_cat(\"peershare/v1/resume-file\", IDs_pk, path, u64be(size) || i64be(mtime seconds) || u32be(mtime nanoseconds)): size and time are ONE item of 24 bytes. senderTag = hex(BLAKE2b-128(lv_cat(\"peershare/v1/resume-sender\", IDs_pk))). prefixHash = BLAKE2b-256 of the held bytes. IDs_pk is the sender identity of handshake-pair.json.",
            senderIdentityKey: hex(sender), senderTag: senderTag, files: files,
            prefixData: hex(prefixData), prefixHash: hex(try Hash.generic(prefixData, outputLength: 32)))
        let vector: ResumeVector = try VectorFiles.load("resume.json", computed: computed)
        #expect(vector.senderIdentityKey == computed.senderIdentityKey)
        #expect(vector.senderTag == computed.senderTag)
        #expect(vector.files == computed.files)
        #expect(vector.prefixHash == computed.prefixHash)
        // The implementation agrees.
        #expect(ResumeKeys.senderTag(sender) == vector.senderTag)
        for file in vector.files {
            #expect(hex(ResumeKeys.fileKey(sender: sender, path: file.path, size: file.size, mtimeSeconds: file.mtimeSeconds,
                                           mtimeNanoseconds: file.mtimeNanoseconds)) == file.fileKey, "\(file.path)")
        }
    }

    struct FingerprintCase: Codable, Equatable {
        var identityKey: String
        var digest: String
        var full: String
        var short: String
    }

    struct FingerprintVector: Codable {
        var description: String
        var cases: [FingerprintCase]
    }

    @Test func fingerprintsMatchTheVectorAndTheFormula() throws {
        let keys = try [0x00, 0x20].map { start in try SigningKeyPair(seed: (start..<(start + 32)).map { UInt8($0) }).publicKey }
        let cases = try keys.map { key in
            let digest = hex(try Hash.generic(key, outputLength: 16))
            let groups = stride(from: 0, to: 32, by: 4).map { start in
                String(digest[digest.index(digest.startIndex, offsetBy: start)..<digest.index(digest.startIndex, offsetBy: start + 4)])
            }
            return FingerprintCase(identityKey: hex(key), digest: digest, full: groups.joined(separator: "-"),
                                   short: groups.prefix(4).joined(separator: "-"))
        }
        let computed = FingerprintVector(
            description: "The fingerprint people compare: BLAKE2b-128 (crypto_generichash, 16 bytes, no key) of the 32-byte Ed25519 identity key, as 32 lowercase hex digits in 8 groups of 4 joined by '-'; the short form is the first 4 groups. Keys: IDs_pk and IDr_pk of handshake-pair.json.",
            cases: cases)
        let vector: FingerprintVector = try VectorFiles.load("fingerprint.json", computed: computed)
        #expect(vector.cases == computed.cases)
        for (index, key) in keys.enumerated() {
            #expect(Fingerprint.full(of: key) == vector.cases[index].full)
            #expect(Fingerprint.short(of: key) == vector.cases[index].short)
        }
    }

    struct CodesVector: Codable {
        var description: String
        var tables: [String: [String: Int]]
        var abortExamples: [String: String]
    }

    /// Abort frames (7F, reason, u16be text length, UTF-8 text), written from the document.
    static func abortExamples() -> [String: String] {
        func abort(_ reason: UInt8, _ text: String) -> String {
            hex([0x7F, reason] + Spec.bigEndian(UInt64(text.utf8.count), count: 2) + Spec.ascii(text))
        }
        return ["versionRefused": abort(5, HandshakeWire.unsupportedVersionText(3)), "wrongCode": abort(2, "pairing failed")]
    }

    static func codeTables() -> [String: [String: Int]] {
        func table<T: RawRepresentable>(_ pairs: [(String, T)]) -> [String: Int] where T.RawValue == UInt8 {
            Dictionary(uniqueKeysWithValues: pairs.map { ($0.0, Int($0.1.rawValue)) })
        }
        return [
            "handshakeModes": table([("PAIR", HandshakeMode.pair), ("KNOWN", .known)]),
            "handshakeMessageTypes": ["M1": 1, "M2": 2, "M3": 3, "M4": 4, "M5": 5, "Abort": 0x7F],
            "streamMessageTypes": [
                "OFFER": Int(StreamMessage.offerType), "ACCEPT": Int(StreamMessage.acceptType),
                "REFUSE": Int(StreamMessage.refuseType), "ENTRY": Int(StreamMessage.entryType),
                "DATA": Int(StreamMessage.dataType), "HOLE": Int(StreamMessage.holeType), "END": Int(StreamMessage.endType),
                "DONE": Int(StreamMessage.doneType), "FAILURE": Int(StreamMessage.failureType),
                "HOLDING": Int(StreamMessage.holdingType), "RESUME": Int(StreamMessage.resumeType),
                "BATCH": Int(StreamMessage.batchType),
            ],
            "streamMessageTypesFrom1.1": ["HELLO": Int(StreamMessage.helloType)],
            "protocolVersions": Dictionary(uniqueKeysWithValues: ProtocolVersion.allCases.map { ($0.description, Int($0.rawValue)) }),
            "entryKinds": table([("file", EntryKind.file), ("directory", .directory), ("symlink", .symlink)]),
            "refusalReasons": table([("declined", RefusalReason.declined), ("noSpace", .noSpace), ("expired", .expired),
                                     ("busy", .busy), ("badOffer", .badOffer), ("wrongCode", .wrongCode),
                                     ("ioError", .ioError), ("cancelled", .cancelled)]),
            "failureCodes": table([("protocolViolation", FailureCode.protocolViolation), ("ioError", .ioError),
                                   ("noSpace", .noSpace), ("cancelled", .cancelled), ("tooLarge", .tooLarge),
                                   ("badEntry", .badEntry), ("internalError", .internalError)]),
            "abortReasons": ["declined": 1, "wrongCode": 2, "expired": 3, "busy": 4, "protocolError": 5,
                             "cancelled": 6, "security": 7],
            "resumeRecordStates": table([("complete", ResumeRecord.State.complete), ("partial", .partial)]),
        ]
    }

    @Test func codesMatchTheVectorAndNoOtherValueIsKnown() throws {
        let computed = CodesVector(
            description: "Every code number (decimal; the stream message types of 1.0 are 0x01-0x09 and 0x10-0x12, protocol 1.1 adds HELLO 0x13; protocolVersions are the version byte of M1). A value not listed is an error. abortReasons are checked by PeershareAgentTests (AbortVectorTests).",
            tables: Self.codeTables(), abortExamples: Self.abortExamples())
        let vector: CodesVector = try VectorFiles.load("codes.json", computed: computed)
        #expect(vector.tables == computed.tables)
        #expect(vector.abortExamples == computed.abortExamples)
        let tables = vector.tables
        for raw in 0...255 {
            let byte = UInt8(raw)
            let listed = { (name: String) in tables[name]?.values.contains(raw) ?? false }
            #expect((RefusalReason(rawValue: byte) != nil) == listed("refusalReasons"), "refusal \(raw)")
            #expect((FailureCode(rawValue: byte) != nil) == listed("failureCodes"), "failure \(raw)")
            #expect((EntryKind(rawValue: byte) != nil) == listed("entryKinds"), "kind \(raw)")
            #expect((HandshakeMode(rawValue: byte) != nil) == listed("handshakeModes"), "mode \(raw)")
            #expect((ResumeRecord.State(rawValue: byte) != nil) == listed("resumeRecordStates"), "state \(raw)")
            let unknown: Bool
            do {
                _ = try StreamMessage.decode([byte])
                unknown = false
            } catch {
                unknown = error == .unknownMessageType(byte)
            }
            #expect(unknown == !listed("streamMessageTypes"), "stream type \(raw)")
        }
    }
}
