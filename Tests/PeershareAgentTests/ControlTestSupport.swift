import Foundation
import Glibc
import Logging
import PeershareCore
@testable import PeershareAgent

/// A raw client of the control socket, reading on the caller's schedule (a slow reader).
final class UnixClient: @unchecked Sendable {
    let fd: Int32

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlTestError("socket: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw ControlTestError("path too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            Glibc.close(fd)
            throw ControlTestError("connect \(path): errno \(errno)")
        }
    }

    deinit { Glibc.close(fd) }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard written == bytes.count else { throw ControlTestError("send: errno \(errno)") }
    }

    /// Everything until the agent closes, or until `timeout` passes without a byte. Blocking
    /// waits run on a thread of their own, never on the cooperative pool that the agent
    /// under test (in this process) needs.
    func readToEnd(timeout: Int32 = 10_000) async -> (bytes: [UInt8], closed: Bool) {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: self.blockingReadToEnd(timeout: timeout)) }.start()
        }
    }

    /// The first line the agent sends, within `timeout` milliseconds (on a thread of its own).
    func readLine(timeout: Int32 = 10_000) async -> String? {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: self.blockingReadLine(timeout: timeout)) }.start()
        }
    }

    private func blockingReadToEnd(timeout: Int32) -> (bytes: [UInt8], closed: Bool) {
        var all: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, timeout) == 1 else { return (all, false) }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return (all, count == 0) }
            all += chunk[0..<count]
        }
    }

    private func blockingReadLine(timeout: Int32) -> String? {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, timeout) == 1, recv(fd, &byte, 1, 0) == 1 else { return nil }
            if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
    }
}

struct ControlTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// An agent in this process serving only its control socket, in a scratch home.
final class ControlFixture: @unchecked Sendable {
    let root: String
    let agent: Agent
    private var task: Task<Void, Never>?

    var socketPath: String { agent.paths.controlSocket }

    init() async throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("psh-ctl-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        var logger = Logger(label: "control-test")
        logger.logLevel = .critical
        let paths = StatePaths.resolve(home: root + "/home")
        agent = try Agent(paths: paths, options: AgentOptions(name: "control-test", inbox: root + "/inbox", port: 0), logger: logger)
        let server = ControlServer(agent: agent) { [agent] in await agent.status() }
        let (bound, boundSink) = AsyncStream<Void>.makeStream()
        task = Task {
            try? await server.run { boundSink.yield(); boundSink.finish() }
            boundSink.finish()
        }
        for await _ in bound { break }
        guard FileManager.default.fileExists(atPath: socketPath) else { throw ControlTestError("the control socket did not open") }
    }

    /// Runs `body` with a fresh fixture, stopped afterwards whatever happens.
    static func with(_ body: (ControlFixture) async throws -> Void) async throws {
        let fixture = try await ControlFixture()
        do {
            try await body(fixture)
        } catch {
            await fixture.stop()
            throw error
        }
        await fixture.stop()
    }

    func stop() async {
        task?.cancel()
        await task?.value
        removeTree(root)
    }

    /// Waits (polling, up to `seconds`) until `condition` holds; false if it never did.
    static func eventually(seconds: Double = 10, _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }
}
