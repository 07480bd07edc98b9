import Foundation
import PeershareTransfer

/// A small JSON state file shared by the agent and stand-alone CLI runs: read whole on every
/// lookup, and changed under `FileLock` (re-read, change, atomic replace), so that two
/// processes never lose each other's changes.
///
/// A missing file is the empty value; an unreadable or corrupt one is an error, never
/// "empty": state that cannot be read must stop the caller, not be silently rebuilt.
struct LockedJSONFile<Value: Codable>: Sendable {
    let path: String
    let sizeLimit: Int
    /// What the file holds before it is first written.
    let empty: @Sendable () -> Value
    /// Said after "PATH is not valid: …" when the file cannot be decoded.
    let repairHint: String

    func load() throws(AgentError) -> Value {
        guard let bytes = try AtomicFile.read(path, limit: sizeLimit) else { return empty() }
        do {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            return try decoder.decode(Value.self, from: Data(bytes))
        } catch {
            throw AgentError(.io, "\(path) is not valid: \(error). \(repairHint)", underlying: error)
        }
    }

    /// Changes the file under its lock; `change` sees the current contents.
    func update(_ change: (inout Value) -> Void) throws(AgentError) {
        let directory = (path as NSString).deletingLastPathComponent
        try StatePaths.makeDirectory(directory)
        try FileLock.withExclusive(for: path) { () throws(AgentError) in
            var value = try load()
            change(&value)
            try write(value)
        }
    }

    private func write(_ value: Value) throws(AgentError) {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do {
            data = try encoder.encode(value)
        } catch {
            throw AgentError(.general, "Cannot encode \(path): \(error)", underlying: error)
        }
        try AtomicFile.write(Array(data), to: path, mode: 0o600)
    }
}
