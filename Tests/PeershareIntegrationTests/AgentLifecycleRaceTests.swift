import Foundation
import Glibc
import Synchronization
import Testing

/// The CLI while its agent starts and stops (issue 20: "the CLI racing an agent that is
/// starting or stopping"). Each call must get one of the two documented answers: the agent's
/// status (exit 0, a parseable reply) or "no agent is running" (exit 10; "the agent stopped
/// before it answered" for a request it had accepted). Never a hang, a crash, a half reply,
/// or another error because the socket appeared or vanished under it.
extension EndToEnd {
    /// What `status --json` calls against one home saw in one phase.
    struct StatusCalls: Sendable {
        var answered = 0
        var noAgent = 0
        var problems: [String] = []

        static func + (a: StatusCalls, b: StatusCalls) -> StatusCalls {
            StatusCalls(answered: a.answered + b.answered, noAgent: a.noAgent + b.noAgent, problems: a.problems + b.problems)
        }
    }

    /// What exit 10 says: nothing listened, or the agent went away before it answered.
    static let noAgentTexts = ["No peershare agent is running for this user", "The agent stopped before it answered"]

    /// Calls `status --json` against `home` until `done(lastCallAnswered)` holds (at most 400
    /// calls), from `callers` processes at once.
    static func statusCalls(home: String, callers: Int = 3, until done: @escaping @Sendable (Bool) -> Bool) async -> StatusCalls {
        await withTaskGroup(of: StatusCalls.self) { group in
            for _ in 0..<callers {
                group.addTask {
                    var calls = StatusCalls()
                    for _ in 0..<400 {
                        guard let result = try? await CLI.run(["status", "--home", home, "--json"], timeout: .seconds(10)) else {
                            calls.problems.append("could not run status")
                            break
                        }
                        let answered = result.exited(0) && decodeJSON(AgentStatus.self, result.stdout) != nil
                        if answered {
                            calls.answered += 1
                        } else if result.exited(10) && Self.noAgentTexts.contains(where: (result.stdout + result.stderr).contains) {
                            calls.noAgent += 1
                        } else {
                            calls.problems.append("\(result)")
                        }
                        if done(answered) { break }
                    }
                    return calls
                }
            }
            return await group.reduce(StatusCalls(), +)
        }
    }

    @Test("`status` while the agent starts and while it stops: every call answers the status or 'no agent running' (exit 10), nothing else")
    func cliRacesAgentStartAndStop() async throws {
        let scratch = try Self.scratch("race")
        defer { scratch.remove() }
        let home = try scratch.directory("agent.home")
        var problems: [String] = []
        for round in 0..<3 {
            let agent = try RunningCommand(["run", "--home", home, "--port", "0", "--listen", "127.0.0.1", "--no-discovery",
                                            "--name", "racer"])
            defer { agent.send(signal: SIGKILL) }
            // Starting: calls from the first instant until each caller got the status.
            let starting = await Self.statusCalls(home: home) { answered in answered }
            try #require(starting.answered == 3, "round \(round): the agent never answered:\n\(agent.currentStderr)")
            // Stopping: callers already calling when SIGTERM arrives (it is sent once the
            // first of them got the status again), until the agent has exited and each was told so.
            let process = agent.process
            let firstAnswer = Mutex(false)
            let calls = Task {
                await Self.statusCalls(home: home) { answered in
                    if answered { firstAnswer.withLock { $0 = true } }
                    return !answered && !process.isRunning
                }
            }
            while !firstAnswer.withLock({ $0 }) && process.isRunning { try await Task.sleep(for: .milliseconds(5)) }
            agent.send(signal: SIGTERM)
            let stopping = await calls.value
            let ended = try await agent.wait(timeout: .seconds(10))
            // A known defect, tracked here rather than hidden: a control connection accepted
            // while the agent closes its control socket is dropped by SwiftNIO before the
            // agent sees it, and NIOAsyncWriter's deinit traps (SIGILL, "Deinited
            // NIOAsyncWriter without calling finish()"; swift-nio issues #2813 and #2637).
            // About 1 run in 5 of this test; the CLI's answers are right either way.
            // Printed too: Swift Testing's closing line does not count known issues.
            if !ended.exited(0) {
                print("[race] KNOWN DEFECT (swift-nio #2813) round \(round): the agent did not stop cleanly: \(ended.status)"
                      + (agent.currentStderr.contains("Deinited NIOAsyncWriter") ? ", Deinited NIOAsyncWriter without calling finish()" : ""))
            }
            withKnownIssue("swift-nio #2813: the agent can trap when a control connection arrives as it stops", isIntermittent: true) {
                #expect(ended.exited(0), "round \(round): the agent did not stop cleanly: \(ended)\n\(agent.currentStderr)")
            }
            #expect(stopping.noAgent >= 3, "round \(round): `status` still found an agent after it exited")
            print("[race] round \(round): starting \(starting.noAgent) x no agent, then the status; stopping: \(stopping.answered) x status, \(stopping.noAgent) x no agent")
            problems += (starting + stopping).problems.map { "round \(round): \($0)" }
        }
        #expect(problems.isEmpty, "answers other than the status or exit 10:\n\(problems.joined(separator: "\n"))")
    }
}
