/// Where the relay dials the real receiver: a fixed address (`--target HOST:PORT`, when the
/// sender was lured to the relay's own address), or `--target original`, the address the
/// sender dialled before R's DNAT rule diverted the connection to the relay (transparent
/// interception: the sender typed the receiver's real address and never learns of R).
enum RelayTarget {
    case fixed(Endpoint)
    case original

    init(parsing text: String) throws(RelayError) {
        self = text == "original" ? .original : .fixed(try Endpoint(parsing: text))
    }

    /// The receiver's address for the session `sender` opened; for `original`, reported as
    /// an `original-destination` line.
    func resolve(for sender: TCPConnection) throws(RelayError) -> Endpoint {
        switch self {
        case let .fixed(endpoint):
            return endpoint
        case .original:
            let endpoint = try sender.originalDestination()
            var line = RelayEvent("original-destination")
            line.peer = endpoint.description
            line.emit()
            return endpoint
        }
    }
}
