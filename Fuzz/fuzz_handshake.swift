// libFuzzer target 4, "the handshake state machine": a complete in-memory handshake between a
// SenderHandshake and a ReceiverHandshake in which one message is replaced by fuzzer bytes.
//
// Input layout: a selector byte, then the fuzz bytes.
//   selector % 5         which message is replaced: 0 M1 (into ReceiverHandshake.handleM1),
//                        1 M2 (SenderHandshake.handleM2), 2 M3 (handleM3), 3 M4 (handleM4), 4 M5 (handleM5);
//   selector bit 3       KNOWN scenario (both sides pinned) instead of PAIR;
//   selector bit 4       the fuzz bytes are XORed onto the genuine message (bytes past its end
//                        are appended) instead of replacing it, to get past the parsers;
//   selector bit 5       the receiving person types a wrong pairing code.
// Every step before the replaced message runs with genuine messages (a valid M1 made by the
// harness's sender, and so on); the steps after it run honestly with whatever came out.
//
// Properties (a violation traps, which libFuzzer reports as a crash):
//   - no step traps: every bad message makes the step throw;
//   - after a step threw, the same step with the genuine message throws `outOfOrder`;
//   - a handshake that completes had every message genuine (byte-equal) and the right code,
//     and both sides hold matching keys, identities and summary hash;
//   - a summary returned by handleM3 is the sender's summary.
import PeershareCore
import SodiumKit

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("fuzz_handshake property violated: \(message())") }
}

let senderIdentity = SigningKeyPair.generate()
let receiverIdentity = SigningKeyPair.generate()
let summaryBytes = OfferSummary(senderName: "fuzz sender", fileCount: 2, directoryCount: 1, symlinkCount: 0,
                                totalBytes: 12, topLevelNames: ["top"]).encode()

struct Tamper {
    let step: Int
    let fuzz: [UInt8]
    let xor: Bool

    func apply(_ step: Int, _ genuine: [UInt8]) -> [UInt8] {
        guard step == self.step else { return genuine }
        guard xor else { return fuzz }
        var out = genuine
        for (index, byte) in fuzz.enumerated() {
            if index < out.count { out[index] ^= byte } else { out.append(byte) }
        }
        return out
    }
}

func expectOutOfOrder(_ error: HandshakeError?, _ step: String) {
    check(error == .outOfOrder, "\(step) after a failure did not throw outOfOrder: \(String(describing: error))")
}

/// Runs one handshake; returns true when both sides completed.
@discardableResult
func runHandshake(known: Bool, wrongCode: Bool, tamper: Tamper) -> Bool {
    let senderKey = senderIdentity.publicKey
    var sender = SenderHandshake(identity: senderIdentity, pinnedReceiver: known ? receiverIdentity.publicKey : nil,
                                 summary: summaryBytes)
    var receiver = ReceiverHandshake(identity: receiverIdentity, isPinned: { key in known && key == senderKey })
    var allGenuine = true

    // M1
    guard let m1 = try? sender.makeM1() else { fatalError("makeM1 failed") }
    let m1x = tamper.apply(0, m1)
    allGenuine = allGenuine && m1x == m1
    let m2: [UInt8]
    do {
        (m2, _, _) = try receiver.handleM1(m1x)
    } catch {
        do { _ = try receiver.handleM1(m1) ; expectOutOfOrder(nil, "handleM1") } catch { expectOutOfOrder(error, "handleM1") }
        return false
    }

    // M2 (and M3 in PAIR mode)
    let m2x = tamper.apply(1, m2)
    allGenuine = allGenuine && m2x == m2
    let step: SenderStep
    do {
        step = try sender.handleM2(m2x)
    } catch {
        do { _ = try sender.handleM2(m2) ; expectOutOfOrder(nil, "handleM2") } catch { expectOutOfOrder(error, "handleM2") }
        return false
    }
    var typed: PairingCode?
    if case let .pairing(code, m3) = step {
        let m3x = tamper.apply(2, m3)
        allGenuine = allGenuine && m3x == m3
        do {
            let summary = try receiver.handleM3(m3x)
            check(summary == summaryBytes, "handleM3 returned a summary the sender did not send")
        } catch {
            do { _ = try receiver.handleM3(m3) ; expectOutOfOrder(nil, "handleM3") } catch { expectOutOfOrder(error, "handleM3") }
            return false
        }
        typed = code
        if wrongCode {
            let value = ((Int(code.digits) ?? 0) + 1) % 1_000_000
            let text = String(value)
            typed = PairingCode(typed: String(repeating: "0", count: 6 - text.count) + text)
        }
    }

    // M4
    let m4: [UInt8]
    do {
        m4 = try receiver.makeM4(code: typed)
    } catch {
        return false // e.g. a tampered share that is invalid for the scalar multiplication
    }
    let m4x = tamper.apply(3, m4)
    allGenuine = allGenuine && m4x == m4
    let m5: [UInt8]
    let senderOutcome: HandshakeOutcome
    do {
        (m5, senderOutcome) = try sender.handleM4(m4x)
    } catch {
        do { _ = try sender.handleM4(m4) ; expectOutOfOrder(nil, "handleM4") } catch { expectOutOfOrder(error, "handleM4") }
        return false
    }

    // M5
    let m5x = tamper.apply(4, m5)
    allGenuine = allGenuine && m5x == m5
    let receiverOutcome: HandshakeOutcome
    do {
        receiverOutcome = try receiver.handleM5(m5x)
    } catch {
        do { _ = try receiver.handleM5(m5) ; expectOutOfOrder(nil, "handleM5") } catch { expectOutOfOrder(error, "handleM5") }
        return false
    }

    check(allGenuine, "a handshake with a tampered message (step \(tamper.step + 1)) completed")
    check(!(wrongCode && typed != nil), "a handshake with a wrong pairing code completed")
    check(senderOutcome.sendKey == receiverOutcome.receiveKey && senderOutcome.receiveKey == receiverOutcome.sendKey,
          "the two sides derived different keys")
    check(senderOutcome.peerIdentity == receiverIdentity.publicKey && receiverOutcome.peerIdentity == senderKey,
          "wrong peer identity")
    check(senderOutcome.summaryHash == receiverOutcome.summaryHash, "summary hashes differ")
    check(senderOutcome.mode == receiverOutcome.mode, "modes differ")
    return true
}

/// The harness checks itself once: untampered handshakes complete in both modes and a wrong
/// code fails, so the properties above are not vacuously true.
let selfTest: Void = {
    for known in [false, true] {
        let untouched = Tamper(step: 0, fuzz: [], xor: true)
        check(runHandshake(known: known, wrongCode: false, tamper: untouched), "genuine handshake (known: \(known)) failed")
    }
    check(!runHandshake(known: false, wrongCode: true, tamper: Tamper(step: 0, fuzz: [], xor: true)),
          "a wrong code completed")
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHandshake(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = selfTest
    guard size >= 1 else { return 0 }
    let selector = data[0]
    let fuzz = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    runHandshake(known: selector & 0x08 != 0, wrongCode: selector & 0x20 != 0,
                 tamper: Tamper(step: Int(selector & 0x07) % 5, fuzz: fuzz, xor: selector & 0x10 != 0))
    return 0
}
