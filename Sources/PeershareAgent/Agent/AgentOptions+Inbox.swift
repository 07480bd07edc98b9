import PeershareTransfer

extension AgentOptions {
    /// The inbox setting when it holds `{peer}`: every peer then gets its own folder.
    public var inboxTemplate: String? { inbox.contains(PeerInbox.placeholder) ? inbox : nil }

    /// The directory the agent opens at start: the inbox, or for a template the folder above
    /// the first component that holds `{peer}`.
    public var baseInbox: String {
        guard inboxTemplate != nil else { return inbox }
        var base: [Substring] = []
        for component in inbox.split(separator: "/", omittingEmptySubsequences: false) {
            if component.contains(PeerInbox.placeholder) { break }
            base.append(component)
        }
        let joined = base.joined(separator: "/")
        return joined.isEmpty ? "/" : joined
    }
}
