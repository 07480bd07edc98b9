import Foundation
import PeershareAgent
import PeershareCore
import PeershareTransfer

/// Unbuffered output, so a person (or a test reading a pipe) sees each line as it happens.
enum Console {
    static let isTerminal = isatty(STDOUT_FILENO) == 1
    static let errorIsTerminal = isatty(STDERR_FILENO) == 1

    static func out(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    static func err(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Redraws one status line on a terminal (carriage return, clear to end of line).
    static func status(_ line: String) {
        FileHandle.standardError.write(Data("\r\u{1B}[2K\(line)".utf8))
    }

    static func endStatus() {
        FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
    }
}

/// Text helpers for what people read.
enum Describe {
    /// "3 files, 2 folders, 12.3 MiB".
    static func contents(files: UInt64, directories: UInt64, bytes: UInt64) -> String {
        var parts = ["\(files) file\(files == 1 ? "" : "s")"]
        if directories > 0 { parts.append("\(directories) folder\(directories == 1 ? "" : "s")") }
        parts.append(ByteCount.format(bytes))
        return parts.joined(separator: ", ")
    }

    /// Escaped, comma-separated names, with "and N more".
    static func names(_ names: [String], more: UInt64 = 0) -> String {
        var shown = names.prefix(8).map { DisplayEscape.escape($0) }.joined(separator: ", ")
        let rest = UInt64(max(0, names.count - 8)) + more
        if rest > 0 { shown += " and \(rest) more" }
        return shown
    }

    /// "1:05" for an ETA or duration.
    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--:--" }
        let total = Int(seconds.rounded())
        return total >= 3600 ? String(format: "%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60) : String(format: "%d:%02d", total / 60, total % 60)
    }

    /// "45% 5.5 MiB/12.3 MiB 110 MiB/s ETA 0:01" for `bytes` of `total` since `start`.
    static func progress(bytes: UInt64, total: UInt64, since start: Date, now: Date = Date()) -> String {
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(bytes) / elapsed : 0
        let percent = total > 0 ? Int(Double(bytes) * 100 / Double(total)) : 100
        let eta = rate > 0 ? Double(total - min(bytes, total)) / rate : .infinity
        return "\(percent)% \(ByteCount.format(bytes))/\(ByteCount.format(total)) \(self.rate(rate)) ETA \(clock(eta))"
    }

    /// "in 1.3 s (3.6 MiB/s)" for a finished transfer: the time from acceptance, and the
    /// rate of the bytes that crossed the wire (a sparse file's holes and bytes the receiver
    /// already held are named apart, not counted).
    static func timing(bytes: UInt64, wireBytes: UInt64?, seconds: Double) -> String {
        let sent = wireBytes ?? bytes
        let rate = seconds > 0 ? Double(sent) / seconds : 0
        let shownRate = sent == bytes ? self.rate(rate) : "\(ByteCount.format(sent)) sent, \(self.rate(rate))"
        return "in \(String(format: "%.1f", seconds)) s (\(shownRate))"
    }

    /// "after 4.1 s waiting for approval", when the transfer waited noticeably before it
    /// was accepted (a code typed, a y/N answered); nil otherwise.
    static func wait(_ waitSeconds: Double?) -> String? {
        guard let waitSeconds, waitSeconds >= 0.5 else { return nil }
        return "after \(String(format: "%.1f", waitSeconds)) s waiting for approval"
    }

    /// Rate in bytes per second.
    static func rate(_ bytesPerSecond: Double) -> String {
        guard bytesPerSecond.isFinite, bytesPerSecond > 0 else { return "-" }
        return ByteCount.format(UInt64(bytesPerSecond)) + "/s"
    }
}
