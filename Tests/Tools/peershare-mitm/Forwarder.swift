import Glibc

/// The relay as a router would be: it passes every byte between the sender and the
/// receiver, records all of it, and (tamper mode) flips one bit of one sender→receiver
/// frame after the handshake.
///
/// Frame positions are counted per direction. The sender's handshake frames are M1, M3 and
/// M5 in PAIR mode (M1 and M5 in KNOWN mode, read from the receiver's M2), then the
/// sender's 24-byte secretstream header; `flipAfterHeader` = 1 is the frame right after
/// that header (the OFFER), 2 the next one, and so on.
struct Forwarder {
    let sender: TCPConnection
    let receiver: TCPConnection
    let toReceiver: Capture
    let toSender: Capture
    let flipAfterHeader: Int?
    let seconds: Double

    func run() throws(RelayError) {
        var fromSender = FrameTracker()
        var fromReceiver = FrameTracker()
        var mode: UInt8?
        var flipped = false
        var senderOpen = true
        var receiverOpen = true
        var bytesToReceiver = 0
        var bytesToSender = 0
        let deadline = monotonicSeconds() + seconds

        while senderOpen || receiverOpen {
            var entries: [pollfd] = []
            if senderOpen { entries.append(pollfd(fd: sender.fd, events: Int16(POLLIN), revents: 0)) }
            if receiverOpen { entries.append(pollfd(fd: receiver.fd, events: Int16(POLLIN), revents: 0)) }
            let left = deadline - monotonicSeconds()
            guard left > 0 else { throw .timedOut("the session to end") }
            let ready = poll(&entries, nfds_t(entries.count), Int32(min(left, 1) * 1000))
            if ready < 0 {
                if errno == EINTR { continue }
                throw .system("poll", errno)
            }
            for entry in entries where entry.revents != 0 {
                if entry.fd == sender.fd {
                    var chunk: [UInt8]
                    do { chunk = try sender.readSome() } catch { chunk = [] }
                    if chunk.isEmpty {
                        senderOpen = false
                        receiver.shutdownWrite()
                        continue
                    }
                    fromSender.scan(&chunk) { run, bytes in
                        guard let flipAfterHeader, !flipped, let mode else { return }
                        let handshakeFrames = mode == 1 ? 3 : 2
                        let target = handshakeFrames + flipAfterHeader
                        let middle = run.length / 2
                        guard run.frame == target, run.offset <= middle, middle < run.offset + run.range.count else { return }
                        bytes[run.range.lowerBound + middle - run.offset] ^= 0x01
                        flipped = true
                        var line = RelayEvent("flipped")
                        line.frame = flipAfterHeader
                        line.frameLength = run.length
                        line.offset = middle
                        line.emit()
                    }
                    toReceiver.record(chunk)
                    bytesToReceiver += chunk.count
                    do { try receiver.writeAll(chunk) } catch { receiverOpen = false; senderOpen = false }
                } else {
                    var chunk: [UInt8]
                    do { chunk = try receiver.readSome() } catch { chunk = [] }
                    if chunk.isEmpty {
                        receiverOpen = false
                        sender.shutdownWrite()
                        continue
                    }
                    fromReceiver.scan(&chunk) { run, bytes in
                        // M2's second byte is the agreed mode (1 PAIR, 2 KNOWN).
                        if run.frame == 0, run.offset <= 1, 1 < run.offset + run.range.count, mode == nil {
                            mode = bytes[run.range.lowerBound + 1 - run.offset]
                            var line = RelayEvent("mode")
                            line.mode = mode == 1 ? "PAIR" : "KNOWN"
                            line.emit()
                        }
                    }
                    toSender.record(chunk)
                    bytesToSender += chunk.count
                    do { try sender.writeAll(chunk) } catch { receiverOpen = false; senderOpen = false }
                }
            }
        }
        var line = RelayEvent("closed")
        line.bytesToReceiver = bytesToReceiver
        line.bytesToSender = bytesToSender
        line.emit()
        if flipAfterHeader != nil && !flipped {
            RelayEvent.emit("not-flipped", message: "the session ended before frame \(flipAfterHeader ?? 0) after the header")
        }
    }
}

/// Seconds on the monotonic clock, for deadlines.
func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
