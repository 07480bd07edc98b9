@testable import PeershareCore

/// Deterministic generator for the fuzz loops (SplitMix64), so failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

enum WireSamples {
    static func path(_ text: String) throws -> RelativePath { try RelativePath(validating: text) }

    static func summary(files: UInt64 = 2, directories: UInt64 = 2, symlinks: UInt64 = 1, bytes: UInt64 = 10,
                        names: [String] = ["top"], more: UInt64 = 0) -> OfferSummary {
        OfferSummary(senderName: "Alice's laptop", fileCount: files, directoryCount: directories,
                     symlinkCount: symlinks, totalBytes: bytes, topLevelNames: names, moreTopLevelNames: more)
    }

    static func file(_ p: String, size: UInt64) throws -> Entry {
        Entry(kind: .file, path: try path(p), size: size, mode: 0o644, mtimeSeconds: 1_700_000_000)
    }

    static func directory(_ p: String) throws -> Entry {
        Entry(kind: .directory, path: try path(p), mode: 0o755, mtimeSeconds: 1_700_000_000)
    }

    static func symlink(_ p: String, to target: String) throws -> Entry {
        Entry(kind: .symlink, path: try path(p), mode: 0o777, mtimeSeconds: 0, linkTarget: target)
    }

    /// One message of every type, with edge values.
    static func messages() throws -> [StreamMessage] {
        [
            .offer(summary()),
            .offer(OfferSummary(senderName: "", fileCount: 1_000_000, directoryCount: 0, symlinkCount: 0,
                                totalBytes: 1 << 62, topLevelNames: (0..<32).map { "n\($0)" },
                                moreTopLevelNames: 999_968)),
            .accept(receiverName: "bob"),
            .refuse(.declined, "No thanks"),
            .refuse(.cancelled, ""),
            .entry(try file("top/été.txt", size: 1 << 62)),
            .entry(Entry(kind: .file, path: try path("top/neg"), size: 0, mode: 0o7777,
                         mtimeSeconds: Int64.min, mtimeNanoseconds: 999_999_999)),
            .entry(Entry(kind: .directory, path: try path("top"), mode: 0o755, mtimeSeconds: Int64.max)),
            .entry(try symlink("top/a/l", to: "../b")),
            .data([0x00]),
            .data([UInt8](repeating: 0xAB, count: WireLimits.maxChunk)),
            .hole(1),
            .hole(1 << 62),
            .end(files: 0, bytes: 0),
            .end(files: UInt64.max, bytes: UInt64.max),
            .done(files: 3, bytes: 300),
            .failure(.protocolViolation, "bad frame"),
            .failure(.internalError, "日本語"),
        ]
    }
}
