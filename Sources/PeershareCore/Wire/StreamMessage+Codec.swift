/// Byte layout of stream messages (varint = unsigned LEB128, shortest form, ≤ 10 bytes;
/// zigzag = signed varint; string = varint length + UTF-8 bytes):
///
///     0x01 OFFER    OfferSummary body (see OfferSummary)
///     0x02 ACCEPT   receiver name string ≤ 64 bytes, no control or bidi characters
///     0x03 REFUSE   reason u8 (1...8) · message string ≤ 1024 bytes
///     0x04 ENTRY    kind u8 (1 file, 2 directory, 3 symlink) · path string ≤ 4096 bytes
///                   · mode varint ≤ 0o7777 · mtime seconds zigzag · mtime nanoseconds varint < 10^9
///                   · file: size varint ≤ 2^62 | directory: nothing | symlink: target string ≤ 4096 bytes
///     0x05 DATA     1...262144 file bytes (the rest of the message)
///     0x06 HOLE     length varint, 1...2^62
///     0x07 END      files varint · bytes varint
///     0x08 DONE     files varint · bytes varint
///     0x09 FAILURE  code u8 (1...7) · message string ≤ 1024 bytes
///     0x10 HOLDING  last u8 (0/1) · count varint ≤ 4096 · count × (state u8 (1 complete,
///                   2 partial) · key 16 bytes · partial: held varint 1...2^62 · hash 32 bytes)
///     0x11 RESUME   offset varint, 1...2^62
///     0x12 BATCH    items of ENTRY, DATA and HOLE, each after its u32 length: see `StreamBatch`
///                   (a container: `decode` refuses it, `StreamBatch.Reader` reads it)
///
/// Protocol 1.1 (`ProtocolVersion.v1_1`) adds, and only then:
///     0x01 OFFER    … · capabilities varint (what the sender can use)
///     0x02 ACCEPT   … · capabilities varint (the subset the receiver agrees to)
///     0x13 HELLO    name string ≤ 64 bytes (as ACCEPT's) · capabilities varint
///     0x14 TEXT     text string ≤ 65536 bytes of valid UTF-8 (capability `text` only)
///
/// Any byte after the last field is an error; so is an unknown type, kind, reason or code
/// (no silent downgrade, hostile-inputs.md item 23).
extension StreamMessage {
    /// Appends the encoded message to `buffer`.
    public func encode(into buffer: inout [UInt8], version: ProtocolVersion = .v1_0) {
        WireWriter.append(to: &buffer) { writer in encode(into: &writer, version: version) }
    }

    /// The encoded message.
    public func encode(version: ProtocolVersion = .v1_0) -> [UInt8] {
        var writer = WireWriter()
        encode(into: &writer, version: version)
        return writer.bytes
    }

    /// Encodes as given, except free text cut to `maxMessageText` bytes. Entries and
    /// data are the caller's responsibility (a `RelativePath` is valid by construction).
    /// Capabilities are written only in `version` 1.1 and later; HELLO exists only there
    /// (a session sends it only when it speaks 1.1).
    public func encode(into writer: inout WireWriter, version: ProtocolVersion = .v1_0) {
        writer.writeByte(type)
        switch self {
        case .offer(let summary, let capabilities):
            summary.encode(into: &writer)
            if version.hasCapabilities { writer.writeVarint(capabilities.rawValue) }
        case .accept(let receiverName, let capabilities):
            writer.writeString(receiverName, truncatingTo: WireLimits.maxDisplayName)
            if version.hasCapabilities { writer.writeVarint(capabilities.rawValue) }
        case .hello(let name, let capabilities):
            writer.writeString(name, truncatingTo: WireLimits.maxDisplayName)
            writer.writeVarint(capabilities.rawValue)
        case .text(let text):
            writer.writeString(text)
        case .refuse(let reason, let text):
            writer.writeByte(reason.rawValue)
            writer.writeString(text, truncatingTo: WireLimits.maxMessageText)
        case .entry(let entry):
            writer.writeByte(entry.kind.rawValue)
            writer.writeString(entry.path.string)
            writer.writeVarint(UInt64(entry.mode))
            writer.writeZigzag(entry.mtimeSeconds)
            writer.writeVarint(UInt64(entry.mtimeNanoseconds))
            switch entry.kind {
            case .file: writer.writeVarint(entry.size)
            case .directory: break
            case .symlink: writer.writeString(entry.linkTarget ?? "")
            }
        case .data(let bytes):
            writer.writeBytes(bytes)
        case .hole(let length):
            writer.writeVarint(length)
        case .end(let files, let bytes), .done(let files, let bytes):
            writer.writeVarint(files)
            writer.writeVarint(bytes)
        case .failure(let code, let text):
            writer.writeByte(code.rawValue)
            writer.writeString(text, truncatingTo: WireLimits.maxMessageText)
        case .holding(let last, let records):
            writer.writeByte(last ? 1 : 0)
            writer.writeVarint(UInt64(records.count))
            for record in records {
                writer.writeByte(record.state.rawValue)
                writer.writeBytes(record.key)
                if record.state == .partial {
                    writer.writeVarint(record.heldBytes)
                    writer.writeBytes(record.prefixHash)
                }
            }
        case .resume(let offset):
            writer.writeVarint(offset)
        }
    }

    /// Decodes one decrypted stream message of `version` that fills `bytes` exactly.
    public static func decode(_ bytes: [UInt8], version: ProtocolVersion = .v1_0) throws(WireError) -> StreamMessage {
        let result: Result<StreamMessage, WireError> = bytes.withUnsafeBytes { raw in
            do throws(WireError) { return .success(try decode(raw, version: version)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Decodes one decrypted stream message of `version` that fills `bytes` exactly: in 1.0
    /// nothing may follow ACCEPT's name or the OFFER summary, and HELLO is an unknown type.
    public static func decode(_ bytes: UnsafeRawBufferPointer, version: ProtocolVersion = .v1_0) throws(WireError) -> StreamMessage {
        if bytes.isEmpty { throw .emptyMessage }
        if bytes.count > WireLimits.maxStreamMessage {
            throw .messageTooLarge(length: bytes.count, limit: WireLimits.maxStreamMessage)
        }
        var reader = WireReader(bytes)
        let type = try reader.readByte(field: "type")
        let message: StreamMessage
        switch type {
        case offerType:
            let summary = try OfferSummary.decode(from: &reader)
            message = .offer(summary, capabilities: try readCapabilities(&reader, version))
        case acceptType:
            let name = try readName(&reader, field: "receiverName")
            message = .accept(receiverName: name, capabilities: try readCapabilities(&reader, version))
        case helloType where version.hasCapabilities:
            let name = try readName(&reader, field: "name")
            message = .hello(name: name, capabilities: Capabilities(rawValue: try reader.readVarint(field: "capabilities")))
        case textType where version.hasCapabilities:
            message = .text(try reader.readString(field: "text", maxBytes: WireLimits.maxText))
        case refuseType:
            let raw = try reader.readByte(field: "reason")
            guard let reason = RefusalReason(rawValue: raw) else { throw .unknownRefusalReason(raw) }
            message = .refuse(reason, try reader.readString(field: "message", maxBytes: WireLimits.maxMessageText))
        case entryType:
            message = .entry(try decodeEntry(&reader))
        case dataType:
            let rest = reader.readRest()
            if rest.isEmpty { throw .emptyData }
            // The total cap above already bounds a chunk to maxChunk bytes.
            message = .data([UInt8](rest))
        case holeType:
            let length = try reader.readVarint(field: "hole", max: WireLimits.maxTotalBytes)
            if length == 0 { throw .emptyData }
            message = .hole(length)
        case endType:
            message = .end(files: try reader.readVarint(field: "files"), bytes: try reader.readVarint(field: "bytes"))
        case doneType:
            message = .done(files: try reader.readVarint(field: "files"), bytes: try reader.readVarint(field: "bytes"))
        case failureType:
            let raw = try reader.readByte(field: "code")
            guard let code = FailureCode(rawValue: raw) else { throw .unknownFailureCode(raw) }
            message = .failure(code, try reader.readString(field: "message", maxBytes: WireLimits.maxMessageText))
        case holdingType:
            message = try decodeHolding(&reader)
        case resumeType:
            let offset = try reader.readVarint(field: "offset", max: WireLimits.maxTotalBytes)
            if offset == 0 { throw .valueOutOfRange(field: "offset", value: 0) }
            message = .resume(offset: offset)
        case batchType:
            // Only the receiver's stream loop may take a batch apart (and only then).
            throw .unexpectedMessage(received: "batch", expected: "a single message")
        default:
            throw .unknownMessageType(type)
        }
        try reader.finish()
        return message
    }

    /// A display name (ACCEPT, HELLO): capped, no control or bidi characters.
    private static func readName(_ reader: inout WireReader, field: String) throws(WireError) -> String {
        let name = try reader.readString(field: field, maxBytes: WireLimits.maxDisplayName)
        if name.unicodeScalars.contains(where: { PathRules.isControl($0) || PathRules.isBidiControl($0) }) {
            throw .invalidText(field: field)
        }
        return name
    }

    /// The trailing capabilities of OFFER and ACCEPT: present (and required) from 1.1 on.
    /// Every bit is accepted here; unknown ones are ignored by the session.
    private static func readCapabilities(_ reader: inout WireReader, _ version: ProtocolVersion) throws(WireError) -> Capabilities {
        guard version.hasCapabilities else { return [] }
        return Capabilities(rawValue: try reader.readVarint(field: "capabilities"))
    }

    /// ENTRY body. The path goes through `RelativePath(validating:)` and a symlink target
    /// through `PathRules.validateSymlinkTarget`, so no unvalidated name leaves the codec
    /// (hostile-inputs.md items 1–9 and 14).
    private static func decodeEntry(_ reader: inout WireReader) throws(WireError) -> Entry {
        let rawKind = try reader.readByte(field: "kind")
        guard let kind = EntryKind(rawValue: rawKind) else { throw .unknownEntryKind(rawKind) }
        let pathText = try reader.readString(field: "path", maxBytes: PathRules.maxPathBytes)
        let path: RelativePath
        do throws(PathError) { path = try RelativePath(validating: pathText) } catch { throw .invalidPath(error) }
        let mode = try reader.readVarint(field: "mode", max: 0o7777)
        let seconds = try reader.readZigzag(field: "mtimeSeconds")
        let nanoseconds = try reader.readVarint(field: "mtimeNanoseconds", max: 999_999_999)
        var size: UInt64 = 0
        var target: String?
        switch kind {
        case .file:
            size = try reader.readVarint(field: "size", max: WireLimits.maxTotalBytes)
        case .directory:
            break
        case .symlink:
            let text = try reader.readString(field: "linkTarget", maxBytes: PathRules.maxPathBytes)
            do throws(PathError) {
                try PathRules.validateSymlinkTarget(text, linkPath: path)
            } catch {
                throw .invalidSymlinkTarget(error)
            }
            target = text
        }
        return Entry(kind: kind, path: path, size: size, mode: UInt32(mode), mtimeSeconds: seconds,
                     mtimeNanoseconds: UInt32(nanoseconds), linkTarget: target)
    }

    /// HOLDING body: every count, state, length and size checked before it is used.
    private static func decodeHolding(_ reader: inout WireReader) throws(WireError) -> StreamMessage {
        let lastByte = try reader.readByte(field: "last")
        guard lastByte <= 1 else { throw .valueOutOfRange(field: "last", value: UInt64(lastByte)) }
        let count = try reader.readVarint(field: "count", max: UInt64(ResumeRecord.maxPerMessage))
        var records: [ResumeRecord] = []
        records.reserveCapacity(Int(count))
        for _ in 0..<count {
            let raw = try reader.readByte(field: "state")
            guard let state = ResumeRecord.State(rawValue: raw) else { throw .valueOutOfRange(field: "state", value: UInt64(raw)) }
            let key = [UInt8](try reader.readBytes(ResumeRecord.keyBytes, field: "key"))
            switch state {
            case .complete:
                records.append(.complete(key: key))
            case .partial:
                let held = try reader.readVarint(field: "held", max: WireLimits.maxTotalBytes)
                if held == 0 { throw .valueOutOfRange(field: "held", value: 0) }
                let hash = [UInt8](try reader.readBytes(ResumeRecord.prefixHashBytes, field: "prefixHash"))
                records.append(.partial(key: key, heldBytes: held, prefixHash: hash))
            }
        }
        return .holding(last: lastByte == 1, records: records)
    }
}
