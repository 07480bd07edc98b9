import Foundation
import PeershareCore
import PeershareTransfer

extension TrustStore {
    /// Changes the policy of the one pin matching `query` (as `forget` matches) and returns
    /// the pin as saved. An empty policy is removed. The running agent reads the pins for
    /// every session, so the change applies to the next offer.
    @discardableResult
    public func setPolicy(_ query: String, _ change: (inout PeerPolicy) -> Void) throws(AgentError) -> PinnedPeer {
        var saved: PinnedPeer?
        var failure: AgentError?
        try update { peers in
            switch Self.matchOne(query, in: peers) {
            case .success(let index):
                var policy = peers[index].policy ?? PeerPolicy()
                change(&policy)
                peers[index].policy = policy.isEmpty ? nil : policy
                saved = peers[index]
            case .failure(let error):
                failure = error
            }
        }
        if let failure { throw failure }
        guard let saved else { throw AgentError(.general, "The policy was not saved.") }
        return saved
    }

    /// The one pin matching `query`.
    public func pin(matching query: String) throws(AgentError) -> PinnedPeer {
        let peers = try load()
        return try Self.matchOne(query, in: peers).map { peers[$0] }.get()
    }
}

/// A policy in words, for `trust` and `trusted`.
public enum PolicyText {
    public static func describe(_ policy: PeerPolicy?) -> String {
        guard let policy, !policy.isEmpty else { return "default (as the agent's settings say)" }
        var parts: [String] = []
        if let accept = policy.accept { parts.append("accept \(accept.rawValue)") }
        if let maxSize = policy.maxSize { parts.append("max size \(ByteCount.format(maxSize))") }
        if let inbox = policy.inbox { parts.append("inbox \(DisplayEscape.escape(inbox))") }
        return parts.joined(separator: ", ")
    }

    /// Bytes from "500M", "2G", "1.5GiB", "700k" or "1048576": K, M, G and T are powers of
    /// 1024, a trailing "B" or "iB" is allowed; nil when it is none of these.
    public static func parseSize(_ text: String) -> UInt64? {
        var number = text.trimmingCharacters(in: .whitespaces).uppercased()
        for suffix in ["IB", "B"] where number.hasSuffix(suffix) && number.count > suffix.count {
            number.removeLast(suffix.count)
            break
        }
        let units: [Character: Double] = ["K": 0x1p10, "M": 0x1p20, "G": 0x1p30, "T": 0x1p40]
        var scale = 1.0
        if let last = number.last, let unit = units[last] {
            scale = unit
            number.removeLast()
        }
        guard let value = Double(number), value.isFinite, value >= 0, value * scale < 1.8e19 else { return nil }
        return UInt64((value * scale).rounded())
    }
}
