/// Every size cap of the wire protocol, in one place.
///
/// A frame on TCP is a `u32` big-endian length followed by that many bytes. The frame
/// decoder rejects a length over the cap for the current phase before reading or
/// allocating anything (hostile-inputs.md items 19, 20 and 24).
public enum WireLimits {
    /// Largest handshake message (before the encrypted stream starts).
    public static let maxHandshakeMessage = 65_536
    /// Most plaintext file bytes in one DATA message.
    public static let maxChunk = 262_144
    /// Largest decrypted stream message: the type byte and one chunk.
    public static let maxStreamMessage = maxChunk + 1
    /// Largest encrypted stream frame: a message plus secretstream's ABYTES (17).
    public static let maxStreamFrame = maxStreamMessage + 17
    /// Size of the secretstream header sent once before the first stream frame.
    public static let secretstreamHeader = 24
    /// Most entries (files, directories and symlinks together) in one offer.
    public static let maxEntries = 1_000_000
    /// Most top-level names listed in an offer summary; the rest are only counted.
    public static let maxTopLevelNamesInSummary = 32
    /// Longest sender display name, in UTF-8 bytes.
    public static let maxDisplayName = 64
    /// The largest TEXT message body (protocol 1.1, capability `text`): 64 KiB of UTF-8.
    public static let maxText = 64 * 1024
    /// Longest free text (refusal and failure messages), in UTF-8 bytes.
    public static let maxMessageText = 1024
    /// Largest total size of one offer and largest single file or hole: 2^62 bytes,
    /// so sums of two values never overflow `UInt64` or `Int64`.
    public static let maxTotalBytes: UInt64 = 1 << 62
    /// Sum of the UTF-8 lengths of all paths of one offer. The receiver keeps every path
    /// to detect duplicates, so this bounds that memory (hostile-inputs.md item 19):
    /// 1,000,000 entries of 128 bytes on average.
    public static let maxOfferPathBytes = 128 << 20
}
