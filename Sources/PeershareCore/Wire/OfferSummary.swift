/// What a person sees before accepting: who sends, how much, and the first top-level names.
///
/// Layout (all integers unsigned LEB128 varints, strings = varint length + UTF-8):
///
///     senderName        string, ≤ 64 bytes, no control or bidi characters
///     fileCount         varint ≤ maxEntries
///     directoryCount    varint ≤ maxEntries
///     symlinkCount      varint ≤ maxEntries   (the three together ≤ maxEntries)
///     totalBytes        varint ≤ 2^62
///     nameCount         varint ≤ 32
///     name × nameCount  string, each a valid single path component, no duplicates
///     moreTopLevelNames varint ≤ maxEntries   (non-zero only when 32 names are listed)
public struct OfferSummary: Sendable, Equatable {
    /// The sender's display name (show it through `DisplayEscape`).
    public var senderName: String
    public var fileCount: UInt64
    public var directoryCount: UInt64
    public var symlinkCount: UInt64
    /// Sum of the sizes of all files.
    public var totalBytes: UInt64
    /// The first top-level names (at most `WireLimits.maxTopLevelNamesInSummary`).
    public var topLevelNames: [String]
    /// How many top-level names exist beyond `topLevelNames`.
    public var moreTopLevelNames: UInt64

    public init(senderName: String, fileCount: UInt64, directoryCount: UInt64, symlinkCount: UInt64,
                totalBytes: UInt64, topLevelNames: [String], moreTopLevelNames: UInt64 = 0) {
        self.senderName = senderName
        self.fileCount = fileCount
        self.directoryCount = directoryCount
        self.symlinkCount = symlinkCount
        self.totalBytes = totalBytes
        self.topLevelNames = topLevelNames
        self.moreTopLevelNames = moreTopLevelNames
    }

    /// All entries of the offer (cannot overflow once decoded: each count ≤ maxEntries).
    public var entryCount: UInt64 {
        let (a, o1) = fileCount.addingReportingOverflow(directoryCount)
        let (b, o2) = a.addingReportingOverflow(symlinkCount)
        return o1 || o2 ? .max : b
    }

    /// True when `topLevelNames` holds every top-level name of the offer.
    public var listsAllTopLevelNames: Bool { moreTopLevelNames == 0 }

    /// The encoded summary, without a message type byte. The sender name is cut to
    /// `WireLimits.maxDisplayName` bytes; everything else is written as given.
    public func encode() -> [UInt8] {
        var writer = WireWriter()
        encode(into: &writer)
        return writer.bytes
    }

    public func encode(into writer: inout WireWriter) {
        writer.writeString(senderName, truncatingTo: WireLimits.maxDisplayName)
        writer.writeVarint(fileCount)
        writer.writeVarint(directoryCount)
        writer.writeVarint(symlinkCount)
        writer.writeVarint(totalBytes)
        writer.writeVarint(UInt64(topLevelNames.count))
        for name in topLevelNames { writer.writeString(name) }
        writer.writeVarint(moreTopLevelNames)
    }

    /// Decodes and validates a summary that fills `bytes` exactly.
    public static func decode(_ bytes: [UInt8]) throws(WireError) -> OfferSummary {
        if bytes.count > WireLimits.maxHandshakeMessage {
            throw .messageTooLarge(length: bytes.count, limit: WireLimits.maxHandshakeMessage)
        }
        return try WireReader.read(bytes) { (reader: inout WireReader) throws(WireError) -> OfferSummary in
            let summary = try decode(from: &reader)
            try reader.finish()
            return summary
        }
    }

    /// Decodes and validates a summary from the reader's current position.
    public static func decode(from reader: inout WireReader) throws(WireError) -> OfferSummary {
        let maxEntries = UInt64(WireLimits.maxEntries)
        let senderName = try reader.readString(field: "senderName", maxBytes: WireLimits.maxDisplayName)
        // A display name goes on screens and in logs: no control or bidi characters at all.
        if senderName.unicodeScalars.contains(where: { PathRules.isControl($0) || PathRules.isBidiControl($0) }) {
            throw .invalidText(field: "senderName")
        }
        let files = try reader.readVarint(field: "fileCount", max: maxEntries)
        let directories = try reader.readVarint(field: "directoryCount", max: maxEntries)
        let symlinks = try reader.readVarint(field: "symlinkCount", max: maxEntries)
        let entries = files + directories + symlinks // each ≤ 10^6: cannot overflow
        if entries > maxEntries { throw .valueOutOfRange(field: "entryCount", value: entries) }
        let totalBytes = try reader.readVarint(field: "totalBytes", max: WireLimits.maxTotalBytes)

        let nameCount = try reader.readVarint(field: "topLevelNames.count",
                                              max: UInt64(WireLimits.maxTopLevelNamesInSummary))
        var names: [String] = []
        names.reserveCapacity(Int(nameCount))
        for _ in 0..<nameCount {
            let name = try reader.readString(field: "topLevelName", maxBytes: PathRules.maxComponentBytes)
            do throws(PathError) {
                try PathRules.validateName(name)
            } catch {
                throw .invalidPath(error)
            }
            // String equality: NFC and NFD spellings count as the same name.
            if names.contains(name) { throw .duplicateTopLevelName(name) }
            names.append(name)
        }
        let more = try reader.readVarint(field: "moreTopLevelNames", max: maxEntries)
        if more > 0, names.count < WireLimits.maxTopLevelNamesInSummary {
            throw .valueOutOfRange(field: "moreTopLevelNames", value: more)
        }
        // Every top-level name is an entry.
        if nameCount + more > entries { throw .valueOutOfRange(field: "topLevelNames.total", value: nameCount + more) }
        return OfferSummary(senderName: senderName, fileCount: files, directoryCount: directories,
                            symlinkCount: symlinks, totalBytes: totalBytes, topLevelNames: names,
                            moreTopLevelNames: more)
    }
}
