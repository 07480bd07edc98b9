import Foundation
import Glibc

/// A raw client of an agent's control socket, for load tests: many at once, each sending
/// one request line and reading on the test's schedule. Closed in `deinit`.
final class ControlSocketClient: @unchecked Sendable {
    let fd: Int32

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            Glibc.close(fd)
            throw HarnessError("socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let error = errno
            Glibc.close(fd)
            throw HarnessError("connect \(path): errno \(error)")
        }
    }

    deinit { Glibc.close(fd) }

    func send(_ line: String) throws {
        let bytes = Array((line + "\n").utf8)
        let written = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard written == bytes.count else { throw HarnessError("send: errno \(errno)") }
    }

    /// The first line the agent sends within `milliseconds`, or nil. The wait runs on a
    /// thread of its own: a blocking `poll` on one of the few cooperative threads would
    /// stall every other test (and in-process agent) of the run meanwhile.
    func readLine(milliseconds: Int32 = 10_000) async -> String? {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: self.blockingReadLine(milliseconds: milliseconds)) }.start()
        }
    }

    private func blockingReadLine(milliseconds: Int32) -> String? {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, milliseconds) == 1, recv(fd, &byte, 1, 0) == 1 else { return nil }
            if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
    }
}

/// What /proc says about a process; a value that cannot be read is an error, never a pass.
enum ProcessFigures {
    static func openDescriptors(_ pid: Int32) throws -> Int {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
        } catch {
            throw HarnessError("cannot list /proc/\(pid)/fd: \(error)")
        }
    }

    static func residentKiB(_ pid: Int32) throws -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let value = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap({ Int($0) }) else {
            throw HarnessError("cannot read VmRSS from /proc/\(pid)/status")
        }
        return value
    }
}
