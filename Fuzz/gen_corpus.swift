// Writes the seed corpora under Fuzz/corpus/<target>/ (run by `Fuzz/build.sh seeds`).
// Every message is made by the product's own codec and handshake, so the seeds are valid
// encodings; a few deliberately invalid inputs sit next to them. The manifest, frame and path
// seeds are the same bytes on every run; the raw-* and flip-* handshake seeds are not (the
// handshake draws fresh identity keys and ephemeral values), so after a rewrite keep the
// committed handshake seeds unless the handshake messages changed
// (`git checkout -- Fuzz/corpus/handshake`).
//
// Usage: gen_corpus <corpus root directory>
import Glibc
import PeershareCore
import SodiumKit

func write(_ root: String, _ target: String, _ name: String, _ bytes: [UInt8]) {
    let dir = root + "/" + target
    mkdir(dir, 0o755)
    let path = dir + "/" + name
    guard let file = fopen(path, "wb") else { fatalError("cannot write \(path)") }
    if !bytes.isEmpty { _ = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, bytes.count, file) } }
    fclose(file)
}

func path(_ text: String) -> RelativePath {
    do { return try RelativePath(validating: text) } catch { fatalError("bad sample path \(text): \(error)") }
}

/// A manifest-target record: u16 big-endian length, then the bytes.
func record(_ bytes: [UInt8]) -> [UInt8] {
    precondition(bytes.count <= 0xFFFF)
    return [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)] + bytes
}

/// A frame: u32 big-endian length, then the bytes.
func frame(_ bytes: [UInt8]) -> [UInt8] {
    let n = UInt32(bytes.count)
    return [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + bytes
}

@main
struct GenCorpus {
    static func main() {
        guard CommandLine.arguments.count == 2 else { fatalError("usage: gen_corpus DIR") }
        let root = CommandLine.arguments[1]
        mkdir(root, 0o755)
        manifest(root)
        frames(root)
        paths(root)
        handshake(root)
    }

    // MARK: Target 1

    static func manifest(_ root: String) {
        let summary = OfferSummary(senderName: "Alice's laptop", fileCount: 3, directoryCount: 2, symlinkCount: 1,
                                   totalBytes: 8, topLevelNames: ["top", "solo.txt"])
        let stream: [StreamMessage] = [
            .offer(summary),
            .entry(Entry(kind: .directory, path: path("top"), mode: 0o755, mtimeSeconds: 1_700_000_000)),
            .entry(Entry(kind: .directory, path: path("top/sub"), mode: 0o700, mtimeSeconds: -5, mtimeNanoseconds: 999_999_999)),
            .entry(Entry(kind: .file, path: path("top/sub/été.txt"), size: 5, mode: 0o644, mtimeSeconds: 1)),
            .data([1, 2, 3]),
            .hole(2),
            .entry(Entry(kind: .symlink, path: path("top/sub/link"), mode: 0o777, mtimeSeconds: 0, linkTarget: "../sub/été.txt")),
            .entry(Entry(kind: .file, path: path("top/empty"), size: 0, mode: 0o600, mtimeSeconds: 0)),
            .entry(Entry(kind: .file, path: path("solo.txt"), size: 3, mode: 0o644, mtimeSeconds: 0)),
            .data([0x41, 0x42, 0x43]),
            .end(files: 3, bytes: 8),
        ]
        // The valid stream must pass the grammar to its END, or the seed is useless.
        var accounting = EntryAccounting()
        for message in stream {
            do { _ = try accounting.accept(message) } catch { fatalError("seed stream rejected at \(message): \(error)") }
        }
        guard accounting.isFinished else { fatalError("seed stream did not reach END") }
        let all = stream.flatMap { record($0.encode()) }
        write(root, "manifest", "stream-valid", [0] + all)
        write(root, "manifest", "stream-valid-stop", [2] + all)
        // The same stream with ENTRY/DATA/HOLE runs as BATCH records (u32 length per item).
        func batch(_ items: ArraySlice<StreamMessage>) -> [UInt8] {
            [StreamMessage.batchType] + items.flatMap { item -> [UInt8] in
                let bytes = item.encode()
                let length = UInt32(bytes.count)
                return [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)] + bytes
            }
        }
        write(root, "manifest", "stream-batched",
              [2] + record(stream[0].encode()) + record(batch(stream[1..<6])) + record(batch(stream[6..<10]))
                  + record(stream[10].encode()))
        // A resumed file: RESUME directly before its ENTRY, then only the bytes past the offset
        // (the sender's order, SenderSession), alone and with the ENTRY and DATA in a BATCH.
        let resumedSummary = OfferSummary(senderName: "resumer", fileCount: 2, directoryCount: 1, symlinkCount: 0,
                                          totalBytes: 9, topLevelNames: ["top", "big.bin"])
        let resumed: [StreamMessage] = [
            .offer(resumedSummary),
            .entry(Entry(kind: .directory, path: path("top"), mode: 0o755, mtimeSeconds: 0)),
            .resume(offset: 3),
            .entry(Entry(kind: .file, path: path("top/part.bin"), size: 5, mode: 0o644, mtimeSeconds: 7)),
            .data([4, 5]),
            .resume(offset: 4),
            .entry(Entry(kind: .file, path: path("big.bin"), size: 4, mode: 0o600, mtimeSeconds: 8)),
            .end(files: 2, bytes: 9),
        ]
        var resumedAccounting = EntryAccounting()
        for message in resumed {
            do { _ = try resumedAccounting.accept(message) } catch { fatalError("resumed seed rejected at \(message): \(error)") }
        }
        guard resumedAccounting.isFinished, resumedAccounting.resumedBytes == 7 else {
            fatalError("resumed seed stream did not reach END with 7 resumed bytes")
        }
        write(root, "manifest", "stream-resumed", [2] + resumed.flatMap { record($0.encode()) })
        write(root, "manifest", "stream-resumed-batched",
              [2] + record(resumed[0].encode()) + record(batch(resumed[1..<2])) + record(resumed[2].encode())
                  + record(batch(resumed[3..<5])) + record(resumed[5].encode()) + record(batch(resumed[6..<7]))
                  + record(resumed[7].encode()))
        // RESUME misplaced: twice in a row, before a directory, inside a file, offset past the size.
        write(root, "manifest", "stream-resume-bad",
              [0] + record(resumed[0].encode()) + record(resumed[2].encode()) + record(resumed[2].encode())
                  + record(resumed[1].encode()) + record(StreamMessage.resume(offset: 9).encode())
                  + record(resumed[3].encode()) + record(resumed[2].encode()) + record(resumed[4].encode()))
        // Batches the reader must refuse: a zero-length item, an item running past the batch,
        // an END, a RESUME and an empty DATA inside a batch, an empty batch.
        let entryBytes = stream[1].encode()
        write(root, "manifest", "batch-bad-items",
              [0] + record(stream[0].encode())
                  + record([StreamMessage.batchType, 0, 0, 0, 0])
                  + record([StreamMessage.batchType, 0, 0, 1, 0] + entryBytes)
                  + record(batch([StreamMessage.end(files: 0, bytes: 0)][...]))
                  + record(batch([StreamMessage.resume(offset: 1)][...]))
                  + record([StreamMessage.batchType, 0, 0, 0, 1, StreamMessage.dataType])
                  + record([StreamMessage.batchType]))
        write(root, "manifest", "stream-from-summary",
              [1] + record(summary.encode()) + stream.dropFirst().flatMap { record($0.encode()) })
        // Grammar violations: data outside a file, a duplicate, a missing parent, END too early.
        write(root, "manifest", "stream-bad-order",
              [0] + record(stream[0].encode()) + record(StreamMessage.data([9]).encode())
                  + record(stream[1].encode()) + record(stream[1].encode())
                  + record(StreamMessage.entry(Entry(kind: .file, path: path("top/nodir/x"), size: 1, mode: 0o644,
                                                     mtimeSeconds: 0)).encode())
                  + record(StreamMessage.end(files: 0, bytes: 0).encode()))
        let singles: [(String, StreamMessage)] = [
            ("offer", .offer(summary)),
            ("offer-max", .offer(OfferSummary(senderName: "", fileCount: 1_000_000, directoryCount: 0, symlinkCount: 0,
                                              totalBytes: 1 << 62, topLevelNames: (0..<32).map { "n\($0)" },
                                              moreTopLevelNames: 999_968))),
            ("accept", .accept(receiverName: "bob")),
            ("refuse", .refuse(.declined, "No thanks")),
            ("entry-file", .entry(Entry(kind: .file, path: path("top/a.txt"), size: 1 << 62, mode: 0o7777,
                                        mtimeSeconds: Int64.min, mtimeNanoseconds: 999_999_999))),
            ("entry-dir", .entry(Entry(kind: .directory, path: path("top"), mode: 0o755, mtimeSeconds: Int64.max))),
            ("entry-symlink", .entry(Entry(kind: .symlink, path: path("top/a/l"), mode: 0o777, mtimeSeconds: 0,
                                           linkTarget: "../b"))),
            ("data", .data([0, 1, 2, 3])),
            ("hole", .hole(1 << 62)),
            ("end", .end(files: UInt64.max, bytes: 0)),
            ("done", .done(files: 3, bytes: 300)),
            ("failure", .failure(.protocolViolation, "bad frame")),
            ("holding", .holding(last: true, records: [
                .complete(key: [UInt8](repeating: 0x11, count: ResumeRecord.keyBytes)),
                .partial(key: [UInt8](repeating: 0x22, count: ResumeRecord.keyBytes), heldBytes: 1 << 62,
                         prefixHash: [UInt8](repeating: 0x33, count: ResumeRecord.prefixHashBytes)),
            ])),
            ("holding-empty", .holding(last: false, records: [])),
            ("resume", .resume(offset: 1 << 62)),
        ]
        for (name, message) in singles {
            write(root, "manifest", "msg-" + name, [0] + record(message.encode()))
        }
        write(root, "manifest", "summary-bare", [1] + record(summary.encode()))
        write(root, "manifest", "msg-unknown-type", [0] + record([0x0A, 0x00]))
    }

    // MARK: Target 2

    static func frames(_ root: String) {
        let hello = frame(Array("PSHR".utf8) + [1, 1, 1] + [UInt8](repeating: 7, count: 96))
        write(root, "frame", "one-frame", [0, 0] + hello)
        write(root, "frame", "three-frames-split", [0, 3] + frame([1]) + frame([2, 2]) + frame([3, 3, 3]))
        write(root, "frame", "cap16-exact", [2, 1] + frame([UInt8](repeating: 0xAA, count: 16)))
        write(root, "frame", "cap16-over", [2, 0] + frame([UInt8](repeating: 0xAA, count: 17)))
        write(root, "frame", "cap300-then-raise", [7, 5] + frame([UInt8](repeating: 1, count: 24))
                  + [0x00, 0x04, 0x00, 0x11] + [UInt8](repeating: 2, count: 40))
        write(root, "frame", "zero-length", [0, 0] + frame([1]) + [0, 0, 0, 0])
        write(root, "frame", "huge-length", [1, 0, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3])
        write(root, "frame", "handshake-cap-plus-one", [0, 0, 0x00, 0x01, 0x00, 0x01])
        write(root, "frame", "incomplete", [1, 2] + frame([5, 5, 5]) + [0, 0, 1, 0, 9])
    }

    // MARK: Target 3

    static func paths(_ root: String) {
        let good = ["a", "top/sub/file.txt", "top/été.txt", "CON", "a b/c", ".bashrc", "x/" + String(repeating: "y", count: 255),
                    "日本語/ファイル", "n\u{303}/e\u{301}"]
        let bad = ["", "/etc/passwd", "//srv", "a//b", "a/", "a/./b", "../x", "a/..", "C:x", "a\\b", "a\u{0}b", "a\u{7}b",
                   "a\u{202E}b", "name.", "name ", "x/" + String(repeating: "y", count: 256),
                   Array(repeating: "d", count: 129).joined(separator: "/")]
        for (i, p) in good.enumerated() { write(root, "path", "good-\(i)", [0] + Array(p.utf8)) }
        for (i, p) in bad.enumerated() { write(root, "path", "bad-\(i)", [0] + Array(p.utf8)) }
        write(root, "path", "bad-utf8", [0, 0x61, 0xC3, 0x28, 0x2F, 0xFF])
        write(root, "path", "bad-overlong-slash", [0, 0x61, 0xC0, 0xAF, 0x62])
        let links: [(String, String)] = [
            ("top/a/l", "../b"), ("top/l", "x/y"), ("top/a/b/l", "../../c/d"), ("top/a/l", "../../x"),
            ("top", "x"), ("top/l", "/etc"), ("top/l", "./x"), ("top/l", "x/../y"), ("top/l", "x/"), ("top/a/l", "..")
        ]
        for (i, (link, target)) in links.enumerated() {
            let l = Array(link.utf8)
            write(root, "path", "link-\(i)", [1, UInt8(l.count)] + l + Array(target.utf8))
        }
    }

    // MARK: Target 4

    static func handshake(_ root: String) {
        // Genuine runs: XOR mode with no fuzz bytes replaces nothing, for each step and mode.
        for step: UInt8 in 0..<5 {
            write(root, "handshake", "genuine-pair-\(step + 1)", [0x10 | step])
            write(root, "handshake", "genuine-known-\(step + 1)", [0x18 | step])
        }
        write(root, "handshake", "wrong-code", [0x10 | 2, 0])
        // Real messages of one run, as raw replacements (they belong to another session,
        // so they parse but fail the cryptographic checks).
        let sid = SigningKeyPair.generate(), rid = SigningKeyPair.generate()
        let summary = OfferSummary(senderName: "seed", fileCount: 1, directoryCount: 0, symlinkCount: 0,
                                   totalBytes: 1, topLevelNames: ["f"]).encode()
        var sender = SenderHandshake(identity: sid, pinnedReceiver: nil, summary: summary)
        var receiver = ReceiverHandshake(identity: rid, isPinned: { _ in false })
        do {
            let m1 = try sender.makeM1()
            let (m2, _, _) = try receiver.handleM1(m1)
            guard case let .pairing(code, m3) = try sender.handleM2(m2) else { fatalError("expected PAIR") }
            _ = try receiver.handleM3(m3)
            let m4 = try receiver.makeM4(code: code)
            let (m5, _) = try sender.handleM4(m4)
            _ = try receiver.handleM5(m5)
            for (i, m) in [m1, m2, m3, m4, m5].enumerated() {
                write(root, "handshake", "raw-pair-m\(i + 1)", [UInt8(i)] + m)
            }
            var m1known = m1
            m1known[6] = 2
            write(root, "handshake", "raw-known-m1", [0x08] + m1known)
            // One flipped byte in each genuine message (XOR mode).
            for (i, m) in [m1, m2, m3, m4, m5].enumerated() {
                var flip = [UInt8](repeating: 0, count: min(m.count, 8))
                flip[flip.count - 1] = 1
                write(root, "handshake", "flip-m\(i + 1)", [0x10 | UInt8(i)] + flip)
            }
        } catch {
            fatalError("seed handshake failed: \(error)")
        }
    }
}
