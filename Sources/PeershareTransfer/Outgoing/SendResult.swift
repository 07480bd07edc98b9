/// What a finished send reports.
public struct SendResult: Sendable {
    public var files: UInt64
    public var bytes: UInt64
    /// From acceptance (the receiver's ACCEPT) to its DONE.
    public var seconds: Double
    public var paired: Bool
    /// From the start of the send to acceptance (connecting, handshake, the person's approval).
    public var waitSeconds: Double = 0
    /// File bytes sent as DATA (not holes, not what the receiver already held).
    public var wireBytes: UInt64 = 0
    /// Resume: the file bytes that actually travelled, and those the receiver already held.
    public var sentBytes: UInt64 = 0
    public var resumedBytes: UInt64 = 0
    /// Files the receiver already had complete (not sent), and files continued part-way.
    public var skippedFiles: UInt64 = 0
    public var resumedFiles: UInt64 = 0
}
