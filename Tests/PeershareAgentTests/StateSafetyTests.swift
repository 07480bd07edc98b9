import Foundation
import Glibc
@testable import PeershareAgent
import Testing
@testable import PeershareTransfer

/// State that decides trust fails closed: an unreadable trust store, a state file that is
/// not a regular file, a runtime directory another user could control, and a control
/// socket served by another uid are errors that name the path, never "not found".
@Suite struct StateSafetyTests {
    /// Runs `body` and returns the AgentError it threw (nil if none).
    private func agentError(_ body: () throws(AgentError) -> Void) -> AgentError? {
        do {
            try body()
            return nil
        } catch {
            return error
        }
    }

    private func paths(_ root: String) -> StatePaths {
        StatePaths.resolve(home: root + "/home", environment: ["HOME": root])
    }

    // MARK: Trust store

    @Test func aCorruptTrustStoreIsAnErrorNamingItNotAMissingPin() throws {
        try withScratchDirectory { root in
            let paths = paths(root)
            try StatePaths.makeDirectory(paths.stateDirectory)
            makeFile(paths.trustFile, Array("[{\"publicKey\": 5".utf8))
            let trust = TrustStore(paths: paths)
            let byKey = agentError { () throws(AgentError) in _ = try trust.pin(forKey: [UInt8](repeating: 1, count: 32)) }
            let byAddress = agentError { () throws(AgentError) in _ = try trust.pin(forAddress: "127.0.0.1:1") }
            #expect(byKey?.message.contains(paths.trustFile) == true, "\(String(describing: byKey))")
            #expect(byAddress?.message.contains(paths.trustFile) == true, "\(String(describing: byAddress))")
        }
    }

    @Test func anUnreadableTrustStoreIsAnError() throws {
        try withScratchDirectory { root in
            let paths = paths(root)
            try StatePaths.makeDirectory(paths.stateDirectory)
            // A directory where the file should be cannot be read, whoever runs the test.
            #expect(mkdir(paths.trustFile, 0o700) == 0)
            let error = agentError { () throws(AgentError) in _ = try TrustStore(paths: paths).pin(forKey: [UInt8](repeating: 1, count: 32)) }
            #expect(error?.message.contains(paths.trustFile) == true, "\(String(describing: error))")
        }
    }

    // MARK: State files

    @Test(.timeLimit(.minutes(1))) func aFIFOAsIdentityKeyIsAnErrorNamingItNotAHang() throws {
        try withScratchDirectory { root in
            let paths = paths(root)
            try StatePaths.makeDirectory(paths.stateDirectory)
            #expect(mkfifo(paths.identityFile, 0o600) == 0)
            let error = agentError { () throws(AgentError) in _ = try IdentityStore.loadOrCreate(paths: paths) }
            #expect(error?.message.contains(paths.identityFile) == true, "\(String(describing: error))")
            #expect(error?.message.contains("FIFO") == true, "\(String(describing: error))")
        }
    }

    @Test func aSymlinkAsIdentityKeyIsAnErrorNamingIt() throws {
        try withScratchDirectory { root in
            let paths = paths(root)
            try StatePaths.makeDirectory(paths.stateDirectory)
            makeFile(root + "/elsewhere", [])
            #expect(symlink(root + "/elsewhere", paths.identityFile) == 0)
            let error = agentError { () throws(AgentError) in _ = try IdentityStore.loadOrCreate(paths: paths) }
            #expect(error?.message.contains(paths.identityFile) == true, "\(String(describing: error))")
        }
    }

    // MARK: Private directories

    @Test func aNewDirectoryIsMadeWithMode700() throws {
        try withScratchDirectory { root in
            try StatePaths.makeDirectory(root + "/a/b/run")
            #expect(lstatOf(root + "/a/b/run").map { $0.st_mode & 0o7777 } == 0o700)
        }
    }

    @Test func anOwnDirectoryOthersMayReadIsTightenedTo700() throws {
        try withScratchDirectory { root in
            #expect(mkdir(root + "/run", 0o700) == 0 && chmod(root + "/run", 0o755) == 0)
            try StatePaths.makeDirectory(root + "/run")
            #expect(lstatOf(root + "/run").map { $0.st_mode & 0o7777 } == 0o700)
        }
    }

    @Test func aDirectoryOthersMayWriteToIsRefusedAndLeftAlone() throws {
        try withScratchDirectory { root in
            #expect(mkdir(root + "/run", 0o700) == 0 && chmod(root + "/run", 0o777) == 0)
            let error = agentError { () throws(AgentError) in try StatePaths.makeDirectory(root + "/run") }
            #expect(error?.kind == .security)
            #expect(error?.message.contains(root + "/run") == true, "\(String(describing: error))")
            #expect(error?.message.contains("chmod 700") == true, "\(String(describing: error))")
            #expect(lstatOf(root + "/run").map { $0.st_mode & 0o7777 } == 0o777)
        }
    }

    @Test func aSymlinkedDirectoryIsRefusedAndItsTargetKeepsItsMode() throws {
        try withScratchDirectory { root in
            #expect(mkdir(root + "/target", 0o700) == 0 && chmod(root + "/target", 0o1777) == 0)
            #expect(symlink(root + "/target", root + "/run") == 0)
            let error = agentError { () throws(AgentError) in try StatePaths.makeDirectory(root + "/run") }
            #expect(error?.kind == .security)
            #expect(error?.message.contains("symbolic link") == true, "\(String(describing: error))")
            #expect(lstatOf(root + "/target").map { $0.st_mode & 0o7777 } == 0o1777)
        }
    }

    @Test func aDirectoryOfAnotherUserIsRefused() throws {
        try withScratchDirectory { root in
            #expect(mkdir(root + "/run", 0o700) == 0)
            let info = try #require(lstatOf(root + "/run"))
            let error = agentError { () throws(AgentError) in
                try StatePaths.checkPrivate(info, path: root + "/run", expectedUID: info.st_uid &+ 1)
            }
            #expect(error?.kind == .security)
            #expect(error?.message.contains("belongs to uid \(info.st_uid)") == true, "\(String(describing: error))")
        }
    }

    /// A real foreign owner without root: a directory root owns and nobody else may write.
    @Test(.enabled(if: geteuid() != 0, "as root, every directory is the test's own"))
    func aRootOwnedDirectoryIsRefusedToAnOrdinaryUser() throws {
        let error = agentError { () throws(AgentError) in try StatePaths.makeDirectory("/usr") }
        #expect(error?.message.contains("/usr: it belongs to uid 0") == true, "\(String(describing: error))")
    }

    // MARK: Control socket

    @Test func theControlSocketOfThisUserIsAccepted() throws {
        try withScratchDirectory { root in
            let path = root + "/control.sock"
            let server = try listeningSocket(path)
            defer { close(server) }
            let fd = try #require(try ControlSocket.connect(path))
            close(fd)
        }
    }

    @Test func aControlSocketServedByAnotherUIDIsRefused() throws {
        var pair: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
        defer { close(pair[0]); close(pair[1]) }
        let error = agentError { () throws(AgentError) in
            try ControlSocket.checkServer(pair[0], path: "/x/control.sock", expectedUID: geteuid() &+ 1)
        }
        #expect(error?.kind == .security)
        #expect(error?.message.contains("served by uid \(geteuid())") == true, "\(String(describing: error))")
        #expect(agentError { () throws(AgentError) in try ControlSocket.checkServer(pair[0], path: "/x", expectedUID: geteuid()) } == nil)
    }

    @Test func nothingListeningIsNoAgentNotAnError() throws {
        try withScratchDirectory { root in
            let fd = try ControlSocket.connect(root + "/control.sock")
            #expect(fd == nil)
        }
    }

    private func listeningSocket(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8))
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0 && listen(fd, 4) == 0)
        return fd
    }
}
