import Foundation
import PeershareTransfer

/// `send --clipboard`: the clipboard's contents, read through the session's own tool —
/// wl-paste under Wayland, xclip under X11 — so that peershare links no display library.
enum Clipboard {
    /// The program and its arguments, from the session's variables and what is on PATH.
    static func reader(environment: [String: String]) throws(AgentError) -> [String] {
        let search = (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
        func find(_ program: String) -> String? {
            search.map { "\($0)/\(program)" }.first { access($0, X_OK) == 0 }
        }
        let wayland = !(environment["WAYLAND_DISPLAY"] ?? "").isEmpty
        let x11 = !(environment["DISPLAY"] ?? "").isEmpty
        if wayland, let program = find("wl-paste") { return [program, "--no-newline"] }
        if x11, let program = find("xclip") { return [program, "-selection", "clipboard", "-out"] }
        let why = wayland ? "wl-paste (package wl-clipboard) is not installed"
            : x11 ? "xclip is not installed"
            : "there is no graphical session (neither WAYLAND_DISPLAY nor DISPLAY is set)"
        throw AgentError(.usage, "Cannot read the clipboard: \(why). Pipe the text in instead: … | peershare send - --to PEER")
    }

    /// Runs the reader and stages what it prints.
    static func capture(name: String?) throws(AgentError) -> StagedInput {
        let command = try reader(environment: ProcessInfo.processInfo.environment)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        let output = Pipe()
        process.standardOutput = output
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw AgentError(.general, "Cannot run \(command[0]): \(error.localizedDescription)")
        }
        let staged: StagedInput
        do {
            staged = try StagedInput.capture(output.fileHandleForReading.fileDescriptor, name: name, stem: "clipboard", what: "The clipboard")
        } catch {
            process.terminate()
            process.waitUntilExit()
            throw error
        }
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            staged.remove()
            let program = URL(fileURLWithPath: command[0]).lastPathComponent
            throw AgentError(.general, "Cannot read the clipboard: \(program) failed (status \(process.terminationStatus)).")
        }
        return staged
    }
}
