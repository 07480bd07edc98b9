import Foundation
import PeershareCore

/// What this receiver does with offers from one paired peer (`peershare trust PEER ...`),
/// kept in its pin. A peer without a policy, or a field left unset, follows the agent's
/// settings (`--ask-paired`, the inbox).
public struct PeerPolicy: Codable, Sendable, Equatable {
    public enum Accept: String, Codable, Sendable, CaseIterable {
        /// Receive without asking, even when the agent runs with `--ask-paired`.
        case auto
        /// Ask the person (y/N, or `peershare accept`) before each offer.
        case ask
        /// Refuse every offer from this peer.
        case never
    }

    public var accept: Accept?
    /// Offers larger than this many bytes are refused.
    public var maxSize: UInt64?
    /// This peer's own inbox (an absolute path).
    public var inbox: String?

    public init(accept: Accept? = nil, maxSize: UInt64? = nil, inbox: String? = nil) {
        self.accept = accept
        self.maxSize = maxSize
        self.inbox = inbox
    }

    public var isEmpty: Bool { accept == nil && maxSize == nil && inbox == nil }

    /// Whether an offer from a paired peer with `policy` waits for the person.
    static func asks(_ policy: PeerPolicy?, askPaired: Bool) -> Bool {
        switch policy?.accept {
        case .auto?: false
        case .ask?: true
        case .never?, nil: askPaired
        }
    }

    /// Why this policy refuses an offer of `bytes`, for the sender; nil when it does not.
    func refusal(bytes: UInt64) -> String? {
        if accept == .never { return "this receiver does not accept offers from you" }
        if let maxSize, bytes > maxSize {
            return "the offer (\(ByteCount.format(bytes))) is larger than the \(ByteCount.format(maxSize)) this receiver accepts from you"
        }
        return nil
    }
}

/// Where a peer's files go: its policy's inbox, else the agent's inbox template with
/// `{peer}` replaced by the peer's name made safe as one path component, else nil (the
/// agent's inbox).
package enum PeerInbox {
    package static let placeholder = "{peer}"
    /// Bytes of a peer's name kept in a folder name.
    static let maxComponentBytes = 64

    package static func path(template: String?, policyInbox: String?, peerName: String) -> String? {
        if let policyInbox { return policyInbox }
        guard let template, template.contains(placeholder) else { return nil }
        return template.replacingOccurrences(of: placeholder, with: component(peerName))
    }

    /// `name` as one path component: `/`, `\`, control and bidirectional control characters
    /// become `_`, a leading `.` (hidden, `.`, `..`) becomes `_`, outer spaces are dropped,
    /// at most 64 bytes are kept (whole characters), and an empty result is `unknown`.
    package static func component(_ name: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in name.unicodeScalars {
            let unsafe = scalar == "/" || scalar == "\\" || scalar.properties.generalCategory == .control
                || scalar.properties.generalCategory == .format || scalar.value == 0
            scalars.append(unsafe ? "_" : scalar)
        }
        var safe = String(scalars).trimmingCharacters(in: .whitespaces)
        if safe.hasPrefix(".") { safe = "_" + safe.dropFirst() }
        while safe.utf8.count > maxComponentBytes { safe.removeLast() }
        return safe.isEmpty ? "unknown" : safe
    }
}
