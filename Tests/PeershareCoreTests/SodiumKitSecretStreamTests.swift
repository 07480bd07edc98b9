import SodiumKit
import Testing

@Suite("SodiumKit secretstream")
struct SodiumKitSecretStreamTests {
    let key = SecretKey.random()

    /// Pushes `messages` (the last one FINAL) and returns header and ciphertexts.
    func encrypt(_ messages: [[UInt8]], key: SecretKey) throws -> (header: [UInt8], ciphertexts: [[UInt8]]) {
        var pusher = try SecretStreamPusher(key: key)
        var ciphertexts: [[UInt8]] = []
        for (index, message) in messages.enumerated() {
            ciphertexts.append(try pusher.push(message, final: index == messages.count - 1))
        }
        return (pusher.header, ciphertexts)
    }

    @Test func constantsMatchLibsodium() {
        #expect(SecretStreamPusher.headerBytes == 24)
        #expect(SecretStreamPusher.overheadBytes == 17)
    }

    @Test func arrayRoundTripSeesFinalTagOnlyOnLastMessage() throws {
        let messages: [[UInt8]] = [Array("first".utf8), [], Random.bytes(1000), Array("last".utf8)]
        let (header, ciphertexts) = try encrypt(messages, key: key)
        #expect(header.count == 24)
        var puller = try SecretStreamPuller(key: key, header: header)
        for (index, ciphertext) in ciphertexts.enumerated() {
            #expect(ciphertext.count == messages[index].count + 17)
            let (message, isFinal) = try puller.pull(ciphertext)
            #expect(message == messages[index])
            #expect(isFinal == (index == messages.count - 1))
        }
    }

    @Test func pointerRoundTripWithReusedBuffers() throws {
        let chunk = 64 * 1024
        let plaintexts = (0..<4).map { _ in Random.bytes(chunk) }
        var pusher = try SecretStreamPusher(key: key)
        var puller = try SecretStreamPuller(key: key, header: pusher.header)
        var cipherBuffer = [UInt8](repeating: 0, count: chunk + SecretStreamPusher.overheadBytes)
        var plainBuffer = [UInt8](repeating: 0, count: chunk)
        for (index, plaintext) in plaintexts.enumerated() {
            let final = index == plaintexts.count - 1
            let written = try plaintext.withUnsafeBytes { input in
                try cipherBuffer.withUnsafeMutableBytes { output in
                    try pusher.push(input, final: final, into: output)
                }
            }
            #expect(written == chunk + 17)
            let (count, isFinal) = try cipherBuffer.withUnsafeBytes { input in
                try plainBuffer.withUnsafeMutableBytes { output in
                    try puller.pull(UnsafeRawBufferPointer(rebasing: input[0..<written]), into: output)
                }
            }
            #expect(count == chunk)
            #expect(isFinal == final)
            #expect(plainBuffer == plaintext)
        }
    }

    @Test(arguments: [0, 1, 16, 17, 30, 33])
    func bitFlipIsRejected(position: Int) throws {
        let (header, ciphertexts) = try encrypt([Random.bytes(17)], key: key)
        var forged = ciphertexts[0]
        forged[position] ^= 0x01
        var puller = try SecretStreamPuller(key: key, header: header)
        #expect(throws: SodiumError.streamDecryptionFailed) { try puller.pull(forged) }
    }

    @Test func replayIsRejected() throws {
        let (header, ciphertexts) = try encrypt([Array("one".utf8), Array("two".utf8)], key: key)
        var puller = try SecretStreamPuller(key: key, header: header)
        _ = try puller.pull(ciphertexts[0])
        #expect(throws: SodiumError.streamDecryptionFailed) { try puller.pull(ciphertexts[0]) }
    }

    @Test func reorderIsRejected() throws {
        let (header, ciphertexts) = try encrypt([Array("one".utf8), Array("two".utf8), Array("three".utf8)], key: key)
        var puller = try SecretStreamPuller(key: key, header: header)
        #expect(throws: SodiumError.streamDecryptionFailed) { try puller.pull(ciphertexts[1]) }
    }

    @Test(arguments: [0, 1, 16])
    func ciphertextUnderOverheadIsRejectedBeforeLibsodium(length: Int) throws {
        let (header, _) = try encrypt([[1, 2, 3]], key: key)
        var puller = try SecretStreamPuller(key: key, header: header)
        #expect(throws: SodiumError.ciphertextTooShort(length)) { try puller.pull([UInt8](repeating: 0, count: length)) }
        var output = [UInt8](repeating: 0, count: 16)
        #expect(throws: SodiumError.ciphertextTooShort(length)) {
            try [UInt8](repeating: 0, count: length).withUnsafeBytes { input in
                try output.withUnsafeMutableBytes { out in try puller.pull(input, into: out).count }
            }
        }
    }

    @Test func truncatedCiphertextIsRejected() throws {
        let (header, ciphertexts) = try encrypt([Random.bytes(100)], key: key)
        var puller = try SecretStreamPuller(key: key, header: header)
        #expect(throws: SodiumError.streamDecryptionFailed) { try puller.pull(Array(ciphertexts[0].dropLast())) }
    }

    @Test func wrongKeyIsRejected() throws {
        let (header, ciphertexts) = try encrypt([Array("secret".utf8)], key: key)
        var puller = try SecretStreamPuller(key: SecretKey.random(), header: header)
        #expect(throws: SodiumError.streamDecryptionFailed) { try puller.pull(ciphertexts[0]) }
    }

    @Test func nothingAfterFinal() throws {
        var pusher = try SecretStreamPusher(key: key)
        let last = try pusher.push(Array("end".utf8), final: true)
        #expect(throws: SodiumError.streamFinished) { try pusher.push(Array("more".utf8), final: false) }
        var puller = try SecretStreamPuller(key: key, header: pusher.header)
        #expect(try puller.pull(last).isFinal)
        #expect(throws: SodiumError.streamFinished) { try puller.pull(last) }
    }

    @Test(arguments: [0, 23, 25])
    func wrongHeaderLengthIsRejected(length: Int) {
        #expect(throws: SodiumError.invalidHeaderLength(expected: 24, actual: length)) {
            _ = try SecretStreamPuller(key: key, header: [UInt8](repeating: 0, count: length))
        }
    }

    @Test func outputBuffersMustBeLargeEnough() throws {
        var pusher = try SecretStreamPusher(key: key)
        let message = Random.bytes(10)
        var small = [UInt8](repeating: 0, count: 26)
        #expect(throws: SodiumError.outputTooSmall(needed: 27, available: 26)) {
            try message.withUnsafeBytes { input in
                try small.withUnsafeMutableBytes { out in try pusher.push(input, final: false, into: out) }
            }
        }

        let ciphertext = try pusher.push(message, final: false)
        var puller = try SecretStreamPuller(key: key, header: pusher.header)
        var tooSmall = [UInt8](repeating: 0, count: 9)
        #expect(throws: SodiumError.outputTooSmall(needed: 10, available: 9)) {
            try ciphertext.withUnsafeBytes { input in
                try tooSmall.withUnsafeMutableBytes { out in try puller.pull(input, into: out).count }
            }
        }
    }
}
