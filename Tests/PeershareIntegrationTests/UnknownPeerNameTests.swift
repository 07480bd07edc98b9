import Foundation
import Testing

/// A receiver says its name only in its ACCEPT. After a first contact whose offer it
/// refused, the sender's pin has no name: `trusted` says so rather than showing an address
/// as a name, and `forget` takes what `trusted` shows (the address or the fingerprint).
extension EndToEnd {
    @Test("A first offer refused for space: `trusted` shows the name as not known, and `forget` takes the address or the fingerprint",
          .enabled(if: TestEnvironment.smallFileSystems != nil || TestEnvironment.inCI,
                   "needs PEERSHARE_TEST_SMALLFS: the tmpfs mounts that scripts/test-as-user.sh makes as root"))
    func refusedFirstContactPinsNoAddressAsName() async throws {
        let scratch = try Self.scratch("unknown-name")
        defer { scratch.remove() }
        // The 1 MiB tmpfs cannot hold even the receiver's 16 MiB reserve: every offer is refused.
        let inbox = try #require(TestEnvironment.smallFileSystems, "PEERSHARE_TEST_SMALLFS is not set") + "/1m"
        let source = try scratch.directory("src") + "/docs"
        try StandardTree.buildSmall(at: source)
        let receiver = try await AgentProcess.start(name: "carol", in: scratch.root, inbox: inbox)
        defer { receiver.stop() }
        let sender = try SenderHome(name: "s", in: scratch.root)

        for forgetBy in ["address", "fingerprint"] {
            let result = try await finishWithCode(try sender.startSend([source], to: receiver), on: receiver)
            #expect(result.exited(7), "the offer must be refused for space: \(result)")

            let pins = try await CLI.trusted(home: sender.home)
            #expect(pins.count == 1 && pins.first?.name == "", "the pin must carry no name, not the address: \(pins)")
            let listed = try await CLI.run(["trusted", "--home", sender.home])
            #expect(listed.exited(0) && listed.stdout.hasPrefix("(name not known yet)  "), "\(listed)")
            #expect(listed.stdout.contains("at \(receiver.address)"), "\(listed)")

            let query = forgetBy == "address" ? receiver.address : String(try await CLI.identity(home: receiver.home).fingerprint.prefix(9))
            let forgot = try await CLI.run(["forget", query, "--home", sender.home])
            #expect(forgot.exited(0), "forget by \(forgetBy) must work: \(forgot)")
            #expect(try await CLI.trusted(home: sender.home).isEmpty, "forget by \(forgetBy) removed nothing")
        }
    }
}
