import Foundation
import PeershareCore
import PeershareTransfer

/// Standard input, a `--text` or the clipboard, written to one file in a private temporary
/// folder so that the agent (which reads paths, not pipes) can send it like any file. The
/// folder is the caller's to remove (`remove()`), after the send.
struct StagedInput {
    /// Above this a stream is refused rather than filling the temporary file system; a larger
    /// stream is better saved to a file and sent as one.
    static let maxBytes: UInt64 = 1 << 30
    /// At most this many bytes of valid UTF-8 count as a text (PROTOCOL.md's text limit).
    static let maxTextBytes = 64 * 1024

    let folder: String
    let path: String
    let bytes: UInt64
    /// Short enough and valid UTF-8.
    let isText: Bool

    func remove() {
        unlink(path)
        rmdir(folder)
    }

    /// Copies `fd` until its end into a new private folder, as `name` when given, else as
    /// `message.txt` when it is a text, `<stem>.txt` when it is longer UTF-8 and `<stem>.bin`
    /// otherwise.
    static func capture(_ fd: Int32, name: String?, stem: String, what: String) throws(AgentError) -> StagedInput {
        let folder = try makeFolder()
        let partial = folder + "/.partial"
        do throws(AgentError) {
            let (bytes, utf8) = try copy(fd, to: partial, what: what)
            guard bytes > 0 else { throw AgentError(.usage, "\(what) is empty: nothing to send.") }
            let isText = utf8 && bytes <= UInt64(maxTextBytes)
            let final = name ?? (isText ? "message.txt" : utf8 ? "\(stem).txt" : "\(stem).bin")
            let path = folder + "/" + final
            guard rename(partial, path) == 0 else { throw ioError("Cannot name the temporary copy of \(what)") }
            return StagedInput(folder: folder, path: path, bytes: bytes, isText: isText)
        } catch {
            unlink(partial)
            rmdir(folder)
            throw error
        }
    }

    /// A `--text`, as the file `name` (default `message.txt`).
    static func text(_ text: String, name: String?) throws(AgentError) -> StagedInput {
        guard !text.isEmpty else { throw AgentError(.usage, "The text is empty: nothing to send.") }
        let folder = try makeFolder()
        let path = folder + "/" + (name ?? "message.txt")
        let bytes = Array(text.utf8)
        let out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        let written = out >= 0 && bytes.withUnsafeBytes { SystemWrite.all(out, $0) }
        if out >= 0 { close(out) }
        guard written else {
            let error = ioError("Cannot write the text to a temporary file")
            unlink(path)
            rmdir(folder)
            throw error
        }
        return StagedInput(folder: folder, path: path, bytes: UInt64(bytes.count), isText: bytes.count <= maxTextBytes)
    }

    private static func makeFolder() throws(AgentError) -> String {
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((base + "/peershare-send.XXXXXX").utf8CString)
        // mkdtemp makes the folder 0700: nobody else can read what is staged there.
        let made = template.withUnsafeMutableBufferPointer { $0.baseAddress.map { mkdtemp($0) != nil } ?? false }
        guard made else {
            throw ioError("Cannot make a temporary folder under \(DisplayEscape.escape(base))")
        }
        return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Copies until end of input, at most `maxBytes`; returns the size and whether it was all
    /// valid UTF-8.
    private static func copy(_ fd: Int32, to path: String, what: String) throws(AgentError) -> (UInt64, Bool) {
        let out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard out >= 0 else { throw ioError("Cannot write the temporary copy of \(what)") }
        defer { close(out) }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var total: UInt64 = 0
        var utf8 = UTF8Check()
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw ioError("Cannot read \(what)") }
            if count == 0 { break }
            total += UInt64(count)
            guard total <= maxBytes else {
                throw AgentError(.usage, "\(what) is larger than \(ByteCount.format(maxBytes)), the most send takes this way. Save it to a file and send the file.")
            }
            let chunk = buffer[..<count]
            utf8.feed(chunk)
            guard chunk.withUnsafeBytes({ SystemWrite.all(out, $0) }) else { throw ioError("Cannot write the temporary copy of \(what)") }
        }
        return (total, utf8.finish())
    }

    private static func ioError(_ message: String) -> AgentError {
        AgentError(.io, "\(message): \(String(cString: strerror(errno))).")
    }
}

/// `write` until every byte is written (retrying EINTR and short writes).
enum SystemWrite {
    static func all(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = write(fd, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }
}

/// Checks that a stream is valid UTF-8, chunk by chunk: a character cut at a chunk's end is
/// carried into the next.
struct UTF8Check {
    private var carry: [UInt8] = []
    private(set) var valid = true

    mutating func feed(_ chunk: some Collection<UInt8>) {
        guard valid else { return }
        var bytes = carry + chunk
        let cut = Self.incompleteTail(bytes)
        carry = Array(bytes.suffix(cut))
        bytes.removeLast(cut)
        valid = String(validating: bytes, as: UTF8.self) != nil
    }

    mutating func finish() -> Bool { valid && carry.isEmpty }

    /// How many bytes at the end start a character that the chunk does not finish.
    static func incompleteTail(_ bytes: [UInt8]) -> Int {
        guard !bytes.isEmpty else { return 0 }
        for back in 1...min(3, bytes.count) {
            let byte = bytes[bytes.count - back]
            guard byte & 0xC0 == 0x80 else {
                let needed = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
                return needed > back ? back : 0
            }
        }
        return 0
    }
}
