extension AgentError {
    /// This error with `sentence` added after its message. A message that does not end a
    /// sentence (many end with a system error text, such as "Not a directory") gets a
    /// full stop first, so two sentences never run together.
    func appending(sentence: String) -> AgentError {
        guard !sentence.isEmpty else { return self }
        let ended = message.last.map { ".!?".contains($0) } ?? true
        let joined = message.isEmpty ? sentence : message + (ended ? " " : ". ") + sentence
        return AgentError(kind, joined, underlying: underlying.map(Underlying.init))
    }
}

/// Carries an underlying description already made into text over to a new `AgentError`.
private struct Underlying: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
