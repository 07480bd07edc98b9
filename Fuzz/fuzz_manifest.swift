// libFuzzer target 1, "the manifest decoder": StreamMessage.decode, OfferSummary.decode,
// and the decoded messages fed in order into EntryAccounting (the receiver's stream grammar).
//
// Input layout: a flags byte, then records of [u16 big-endian length][that many bytes]; a
// last record shorter than its length takes the rest of the input. Each record is one
// decrypted stream message as the receiver would see it.
//   flags bit 0: start EntryAccounting from the first record decoded as a bare OfferSummary
//                (`init(summary:)`, the handshake path) instead of waiting for an OFFER message.
//   flags bit 1: stop feeding after the first message the grammar rejects (what the receiver
//                does); otherwise keep feeding, which must still only throw.
//
// Properties checked (a violation traps, which libFuzzer reports as a crash):
//   - decoding never traps (any trap in the product code is a finding);
//   - an accepted message re-encodes to exactly its input bytes (one encoding per value);
//   - an accepted OfferSummary re-encodes to its input and respects its caps;
//   - every decoded ENTRY path re-validates to the same components, every symlink target
//     re-validates against its link path;
//   - the grammar's counters never exceed the offer: files/directories/symlinks ≤ declared,
//     declaredBytes ≤ totalBytes, receivedBytes ≤ declaredBytes; an accepted END matches the offer;
//   - nothing but an error after the grammar reports itself finished;
//   - a decoded HOLDING has at most ResumeRecord.maxPerMessage records of the right shape
//     (16-byte keys; partial: 1...2^62 held bytes and a 32-byte hash); a RESUME offset is
//     1...2^62, also while pending; resumed bytes never exceed the received bytes;
//   - a BATCH record is taken apart as the receiver does (StreamBatch.Reader), its items
//     checked like messages of their own and fed to the same grammar; DATA items are
//     never empty.
import PeershareCore

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("fuzz_manifest property violated: \(message())") }
}

/// Splits the input into records (see the header comment).
func records(_ bytes: ArraySlice<UInt8>) -> [[UInt8]] {
    var out: [[UInt8]] = []
    var index = bytes.startIndex
    while index < bytes.endIndex, out.count < 4096 {
        guard index + 2 <= bytes.endIndex else {
            out.append(Array(bytes[index...]))
            break
        }
        let length = Int(bytes[index]) << 8 | Int(bytes[index + 1])
        index += 2
        let end = min(index + length, bytes.endIndex)
        out.append(Array(bytes[index..<end]))
        index = end
    }
    return out
}

func checkSummary(_ summary: OfferSummary, encoded: [UInt8]?) {
    if let encoded { check(summary.encode() == encoded, "OfferSummary round trip") }
    let maxEntries = UInt64(WireLimits.maxEntries)
    check(summary.fileCount <= maxEntries && summary.directoryCount <= maxEntries
        && summary.symlinkCount <= maxEntries, "summary counts over maxEntries")
    check(summary.entryCount <= maxEntries, "summary entryCount over maxEntries")
    check(summary.totalBytes <= WireLimits.maxTotalBytes, "summary totalBytes over cap")
    check(summary.topLevelNames.count <= WireLimits.maxTopLevelNamesInSummary, "too many names")
    check(summary.senderName.utf8.count <= WireLimits.maxDisplayName, "sender name over cap")
    for name in summary.topLevelNames {
        check((try? PathRules.validateName(name)) != nil, "summary name does not validate")
    }
}

func checkEntry(_ entry: Entry) {
    let text = entry.path.string
    let again = try? PathRules.validatedComponents(of: text)
    check(again == entry.path.components, "entry path does not re-validate to the same components")
    check(entry.mode <= 0o7777, "mode over 0o7777")
    check(entry.mtimeNanoseconds < 1_000_000_000, "nanoseconds over 10^9")
    switch entry.kind {
    case .file:
        check(entry.linkTarget == nil && entry.size <= WireLimits.maxTotalBytes, "file shape")
    case .directory:
        check(entry.linkTarget == nil && entry.size == 0, "directory shape")
    case .symlink:
        guard let target = entry.linkTarget else { fatalError("symlink without a target decoded") }
        check(entry.size == 0, "symlink with a size")
        check((try? PathRules.validateSymlinkTarget(target, linkPath: entry.path)) != nil,
              "decoded symlink target does not re-validate")
    }
}

func checkHolding(_ records: [ResumeRecord]) {
    check(records.count <= ResumeRecord.maxPerMessage, "more HOLDING records than the cap")
    for record in records {
        check(record.key.count == ResumeRecord.keyBytes, "HOLDING key length")
        switch record.state {
        case .complete:
            check(record.heldBytes == 0 && record.prefixHash.isEmpty, "complete HOLDING record with partial fields")
        case .partial:
            check(record.heldBytes > 0 && record.heldBytes <= WireLimits.maxTotalBytes
                && record.prefixHash.count == ResumeRecord.prefixHashBytes, "partial HOLDING record shape")
        }
    }
}

func checkAccounting(_ accounting: EntryAccounting) {
    guard let summary = accounting.summary else {
        check(accounting.files == 0 && accounting.directories == 0 && accounting.symlinks == 0
            && accounting.declaredBytes == 0 && accounting.receivedBytes == 0, "counts before the offer")
        return
    }
    check(accounting.files <= summary.fileCount, "more files than offered")
    check(accounting.directories <= summary.directoryCount, "more directories than offered")
    check(accounting.symlinks <= summary.symlinkCount, "more symlinks than offered")
    check(accounting.declaredBytes <= summary.totalBytes, "declared bytes over the offer")
    check(accounting.receivedBytes <= accounting.declaredBytes, "received bytes over the declared sizes")
    check(accounting.resumedBytes <= accounting.receivedBytes, "resumed bytes over the received bytes")
    if let offset = accounting.pendingResume {
        check(offset > 0 && offset <= WireLimits.maxTotalBytes, "pending RESUME offset")
    }
}

/// Feeds a BATCH record's items to the grammar; true when the receiver would stop here.
func feedBatch(_ record: [UInt8], _ accounting: inout EntryAccounting, stopOnError: Bool) -> Bool {
    record.withUnsafeBytes { raw -> Bool in
        guard var reader = try? StreamBatch.Reader(body: UnsafeRawBufferPointer(rebasing: raw[1...])) else { return stopOnError }
        while true {
            let item: StreamBatch.Item?
            do { item = try reader.next() } catch { return stopOnError }
            guard let item else { return false }
            let wasFinished = accounting.isFinished
            do {
                switch item {
                case .data(let bytes):
                    check(!bytes.isEmpty, "an empty DATA item was accepted")
                    _ = try accounting.data(count: bytes.count)
                case .message(let message):
                    if case .entry(let entry) = message { checkEntry(entry) }
                    _ = try accounting.accept(message)
                }
                check(!wasFinished, "a batch item was accepted after the end")
            } catch {
                if stopOnError { return true }
            }
            checkAccounting(accounting)
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManifest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard let flags = input.first else { return 0 }
    let messages = records(input.dropFirst())
    var accounting = EntryAccounting()
    var start = 0
    if flags & 1 != 0, let first = messages.first {
        start = 1
        guard let summary = try? OfferSummary.decode(first) else { return 0 }
        checkSummary(summary, encoded: first)
        accounting = EntryAccounting(summary: summary)
    }
    for record in messages[start...] {
        // The bare summary decoder sees every record too: it has its own entry point and cap.
        if let summary = try? OfferSummary.decode(record) { checkSummary(summary, encoded: record) }

        if record.first == StreamMessage.batchType {
            if feedBatch(record, &accounting, stopOnError: flags & 2 != 0) { break }
            continue
        }
        let message: StreamMessage
        do {
            message = try StreamMessage.decode(record)
        } catch {
            continue
        }
        check(message.encode() == record, "StreamMessage round trip for type \(record.first ?? 0)")
        switch message {
        case .offer(let summary, _): checkSummary(summary, encoded: nil)
        case .entry(let entry): checkEntry(entry)
        case .data(let bytes): check(!bytes.isEmpty && bytes.count <= WireLimits.maxChunk, "data size")
        case .hole(let length): check(length > 0 && length <= WireLimits.maxTotalBytes, "hole size")
        case .resume(let offset): check(offset > 0 && offset <= WireLimits.maxTotalBytes, "resume offset")
        case .holding(_, let held): checkHolding(held)
        default: break
        }

        let wasFinished = accounting.isFinished
        do {
            let event = try accounting.accept(message)
            check(!wasFinished, "a message was accepted after the end")
            if case .end(let files, let bytes) = event, let summary = accounting.summary {
                check(files == summary.fileCount && bytes == summary.totalBytes
                    && accounting.directories == summary.directoryCount
                    && accounting.symlinks == summary.symlinkCount, "END accepted with counts that differ from the offer")
            }
        } catch {
            if flags & 2 != 0 { break }
        }
        checkAccounting(accounting)
    }
    return 0
}
