/// The JSON form of a `TransferEvent`: one flat object whose `event` names it, with only the
/// fields that event has (absent fields are left out). Scripts read this shape from
/// `send --json`, `peershare events` and the control socket; it does not change with the
/// typed model behind it.
public struct EventRecord: Codable, Sendable, Equatable {
    public var event: String
    public var time: String?
    public var transfer: String?
    public var direction: String?
    public var offer: String?
    public var peer: String?
    public var fingerprint: String?
    public var address: String?
    public var addresses: [String]?
    public var code: String?
    public var needsCode: Bool?
    public var paired: Bool?
    public var files: UInt64?
    public var directories: UInt64?
    public var bytes: UInt64?
    public var totalBytes: UInt64?
    public var sentBytes: UInt64?
    public var resumedBytes: UInt64?
    public var skippedFiles: UInt64?
    public var resumedFiles: UInt64?
    public var leftOut: UInt64?
    public var names: [String]?
    public var file: String?
    public var seconds: Double?
    public var waitSeconds: Double?
    public var wireBytes: UInt64?
    public var rate: Double?
    public var eta: Double?
    public var expiresIn: Double?
    public var message: String?
    public var kind: String?
    public var inbox: String?
    public var text: String?

    init(_ event: String) { self.event = event }
}

extension TransferEvent {
    /// The event as its JSON record.
    public var record: EventRecord {
        if case .other(let record) = what { return record }
        var record = what.record
        record.time = time
        record.direction = direction?.rawValue
        return record
    }

    /// The typed event a record describes; a record this build cannot read as its event
    /// (an unknown name, or a field missing) is kept whole as `.other`.
    public init(record: EventRecord) {
        what = AgentEvent(record: record) ?? .other(record)
        time = record.time
        direction = record.direction.flatMap(Direction.init(rawValue:))
    }
}

extension AgentEvent {
    var record: EventRecord {
        switch self {
        case .sending(let e):
            var r = EventRecord("sending")
            (r.transfer, r.address, r.addresses, r.files, r.directories, r.totalBytes, r.names) =
                (e.transfer, e.address, e.addresses, e.files, e.directories, e.totalBytes, e.names)
            return r
        case .connected(let e):
            var r = EventRecord("connected")
            (r.transfer, r.fingerprint, r.address, r.paired) = (e.transfer, e.fingerprint, e.address, e.paired)
            return r
        case .code(let e):
            var r = EventRecord("code")
            (r.transfer, r.code, r.expiresIn) = (e.transfer, e.code, e.expiresIn)
            return r
        case .waiting(let transfer):
            var r = EventRecord("waiting")
            r.transfer = transfer
            return r
        case .accepted(let transfer, let peer):
            var r = EventRecord("accepted")
            (r.transfer, r.peer) = (transfer, peer)
            return r
        case .checking(let e):
            var r = EventRecord("checking")
            (r.transfer, r.bytes, r.file, r.peer, r.files) = (e.transfer, e.bytes, e.file, e.peer, e.files)
            return r
        case .progress(let e):
            var r = EventRecord("progress")
            (r.transfer, r.bytes, r.totalBytes, r.file, r.rate, r.eta) = (e.transfer, e.bytes, e.totalBytes, e.file, e.rate, e.eta)
            return r
        case .warning(let e):
            var r = EventRecord("warning")
            (r.transfer, r.address, r.message) = (e.transfer, e.address, e.message)
            return r
        case .file(let e):
            var r = EventRecord("file")
            (r.transfer, r.file, r.bytes, r.resumedBytes) = (e.transfer, e.file, e.bytes, e.resumedBytes)
            return r
        case .done(let e):
            return e.record
        case .error(let e):
            return e.record("error")
        case .sessionEnded(let e):
            return e.record("session-ended")
        case .offer(let e):
            return e.record("offer")
        case .offerClosed(let e):
            return e.record("offer-closed")
        case .receiving(let e):
            return e.record
        case .received(let e):
            return e.record
        case .pairingFailed(let e):
            var r = EventRecord("pairing-failed")
            (r.offer, r.fingerprint, r.address, r.message) = (e.offer, e.fingerprint, e.address, e.message)
            return r
        case .peerAppeared(let e):
            return e.record("peer-appeared")
        case .peerLeft(let e):
            return e.record("peer-left")
        case .discovery(let message):
            var r = EventRecord("discovery")
            r.message = message
            return r
        case .other(let record):
            return record
        }
    }

    /// Nil when the record's name is unknown or a field its event always has is missing.
    init?(record r: EventRecord) {
        switch r.event {
        case "sending":
            guard let transfer = r.transfer, let addresses = r.addresses, let files = r.files, let directories = r.directories,
                  let totalBytes = r.totalBytes, let names = r.names else { return nil }
            self = .sending(Sending(transfer: transfer, address: r.address, addresses: addresses, files: files,
                                    directories: directories, totalBytes: totalBytes, names: names))
        case "connected":
            guard let transfer = r.transfer, let fingerprint = r.fingerprint, let address = r.address, let paired = r.paired else { return nil }
            self = .connected(Connected(transfer: transfer, fingerprint: fingerprint, address: address, paired: paired))
        case "code":
            guard let transfer = r.transfer, let code = r.code, let expiresIn = r.expiresIn else { return nil }
            self = .code(CodeShown(transfer: transfer, code: code, expiresIn: expiresIn))
        case "waiting":
            guard let transfer = r.transfer else { return nil }
            self = .waiting(transfer: transfer)
        case "accepted":
            guard let transfer = r.transfer, let peer = r.peer else { return nil }
            self = .accepted(transfer: transfer, peer: peer)
        case "checking":
            guard let transfer = r.transfer, let bytes = r.bytes else { return nil }
            self = .checking(Checking(transfer: transfer, bytes: bytes, file: r.file, peer: r.peer, files: r.files))
        case "progress":
            guard let transfer = r.transfer, let bytes = r.bytes, let totalBytes = r.totalBytes else { return nil }
            var progress = Progress(transfer: transfer, bytes: bytes, totalBytes: totalBytes, file: r.file)
            (progress.rate, progress.eta) = (r.rate, r.eta)
            self = .progress(progress)
        case "warning":
            guard let message = r.message else { return nil }
            self = .warning(Warning(transfer: r.transfer, address: r.address, message: message))
        case "file":
            guard let transfer = r.transfer, let file = r.file, let bytes = r.bytes else { return nil }
            self = .file(FileSent(transfer: transfer, file: file, bytes: bytes, resumedBytes: r.resumedBytes))
        case "done":
            guard let done = Done(record: r) else { return nil }
            self = .done(done)
        case "error", "session-ended":
            guard let message = r.message, let kind = r.kind else { return nil }
            var failed = Failed(transfer: r.transfer, message: message, kind: kind, peer: r.peer, fingerprint: r.fingerprint, address: r.address)
            (failed.files, failed.totalBytes, failed.names) = (r.files, r.totalBytes, r.names)
            self = r.event == "error" ? .error(failed) : .sessionEnded(failed)
        case "offer", "offer-closed":
            guard let offer = OfferShown(record: r) else { return nil }
            self = r.event == "offer" ? .offer(offer) : .offerClosed(offer)
        case "receiving":
            guard let receiving = Receiving(record: r) else { return nil }
            self = .receiving(receiving)
        case "received":
            guard let received = Received(record: r) else { return nil }
            self = .received(received)
        case "pairing-failed":
            guard let offer = r.offer, let fingerprint = r.fingerprint, let address = r.address, let message = r.message else { return nil }
            self = .pairingFailed(PairingFailed(offer: offer, fingerprint: fingerprint, address: address, message: message))
        case "peer-appeared", "peer-left":
            guard let peer = r.peer else { return nil }
            let seen = PeerSeen(peer: peer, fingerprint: r.fingerprint, address: r.address)
            self = r.event == "peer-appeared" ? .peerAppeared(seen) : .peerLeft(seen)
        case "discovery":
            guard let message = r.message else { return nil }
            self = .discovery(message: message)
        default:
            return nil
        }
    }
}

extension AgentEvent.Done {
    var record: EventRecord {
        var r = EventRecord("done")
        (r.transfer, r.files, r.bytes, r.sentBytes, r.resumedBytes, r.skippedFiles, r.resumedFiles) =
            (transfer, files, bytes, sentBytes, resumedBytes, skippedFiles, resumedFiles)
        (r.seconds, r.leftOut, r.waitSeconds, r.wireBytes) = (seconds, leftOut, waitSeconds, wireBytes)
        return r
    }

    init?(record r: EventRecord) {
        guard let transfer = r.transfer, let files = r.files, let bytes = r.bytes, let sentBytes = r.sentBytes,
              let resumedBytes = r.resumedBytes, let skippedFiles = r.skippedFiles, let resumedFiles = r.resumedFiles,
              let seconds = r.seconds, let waitSeconds = r.waitSeconds, let wireBytes = r.wireBytes else { return nil }
        self.init(transfer: transfer, files: files, bytes: bytes, sentBytes: sentBytes, resumedBytes: resumedBytes,
                  skippedFiles: skippedFiles, resumedFiles: resumedFiles, seconds: seconds, leftOut: r.leftOut,
                  waitSeconds: waitSeconds, wireBytes: wireBytes)
    }

    init(transfer: String, files: UInt64, bytes: UInt64, sentBytes: UInt64, resumedBytes: UInt64, skippedFiles: UInt64,
         resumedFiles: UInt64, seconds: Double, leftOut: UInt64?, waitSeconds: Double, wireBytes: UInt64) {
        (self.transfer, self.files, self.bytes, self.sentBytes, self.resumedBytes) = (transfer, files, bytes, sentBytes, resumedBytes)
        (self.skippedFiles, self.resumedFiles, self.seconds, self.leftOut) = (skippedFiles, resumedFiles, seconds, leftOut)
        (self.waitSeconds, self.wireBytes) = (waitSeconds, wireBytes)
    }
}

extension AgentEvent.Failed {
    func record(_ name: String) -> EventRecord {
        var r = EventRecord(name)
        (r.transfer, r.message, r.kind, r.peer, r.fingerprint, r.address) = (transfer, message, kind, peer, fingerprint, address)
        (r.files, r.totalBytes, r.names) = (files, totalBytes, names)
        return r
    }
}

extension AgentEvent.OfferShown {
    func record(_ name: String) -> EventRecord {
        var r = EventRecord(name)
        (r.offer, r.peer, r.fingerprint, r.address, r.needsCode, r.files, r.directories) =
            (offer, peer, fingerprint, address, needsCode, files, directories)
        (r.totalBytes, r.names, r.expiresIn, r.message, r.text) = (totalBytes, names, expiresIn, message, text)
        return r
    }

    init?(record r: EventRecord) {
        guard let offer = r.offer, let peer = r.peer, let fingerprint = r.fingerprint, let address = r.address,
              let needsCode = r.needsCode, let files = r.files, let directories = r.directories,
              let totalBytes = r.totalBytes, let names = r.names, let expiresIn = r.expiresIn else { return nil }
        self.init(offer: offer, peer: peer, fingerprint: fingerprint, address: address, needsCode: needsCode, files: files,
                  directories: directories, totalBytes: totalBytes, names: names, expiresIn: expiresIn, message: r.message, text: r.text)
    }
}

extension AgentEvent.Receiving {
    var record: EventRecord {
        var r = EventRecord("receiving")
        (r.transfer, r.peer, r.fingerprint, r.address, r.files, r.directories) = (transfer, peer, fingerprint, address, files, directories)
        (r.totalBytes, r.names, r.paired, r.message) = (totalBytes, names, paired, message)
        return r
    }

    init?(record r: EventRecord) {
        guard let transfer = r.transfer, let peer = r.peer, let fingerprint = r.fingerprint, let address = r.address,
              let files = r.files, let directories = r.directories, let totalBytes = r.totalBytes, let names = r.names,
              let paired = r.paired else { return nil }
        self.init(transfer: transfer, peer: peer, fingerprint: fingerprint, address: address, files: files,
                  directories: directories, totalBytes: totalBytes, names: names, paired: paired, message: r.message)
    }
}

extension AgentEvent.Received {
    var record: EventRecord {
        var r = EventRecord("received")
        (r.transfer, r.peer, r.files, r.bytes, r.resumedBytes, r.skippedFiles, r.names) =
            (transfer, peer, files, bytes, resumedBytes, skippedFiles, names)
        (r.seconds, r.waitSeconds, r.wireBytes, r.inbox, r.text) = (seconds, waitSeconds, wireBytes, inbox, text)
        return r
    }

    init?(record r: EventRecord) {
        guard let transfer = r.transfer, let peer = r.peer, let files = r.files, let bytes = r.bytes,
              let resumedBytes = r.resumedBytes, let skippedFiles = r.skippedFiles, let names = r.names,
              let seconds = r.seconds, let waitSeconds = r.waitSeconds, let wireBytes = r.wireBytes else { return nil }
        self.init(transfer: transfer, peer: peer, files: files, bytes: bytes, resumedBytes: resumedBytes, skippedFiles: skippedFiles,
                  names: names, seconds: seconds, waitSeconds: waitSeconds, wireBytes: wireBytes, inbox: r.inbox, text: r.text)
    }
}

extension AgentEvent.PeerSeen {
    func record(_ name: String) -> EventRecord {
        var r = EventRecord(name)
        (r.peer, r.fingerprint, r.address) = (peer, fingerprint, address)
        return r
    }
}
