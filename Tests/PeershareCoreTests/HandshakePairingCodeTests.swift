import PeershareCore
import Testing

@Suite("Pairing code")
struct HandshakePairingCodeTests {
    @Test(arguments: [
        ("428913", "428913"), ("428 913", "428913"), (" 428-913 ", "428913"), ("000000", "000000"),
        ("4-2-8 9 1-3", "428913"), ("\t999999\t", "999999"),
    ])
    func acceptsTypedCodes(typed: String, digits: String) throws {
        let code = try #require(PairingCode(typed: typed))
        #expect(code.digits == digits)
    }

    @Test(arguments: ["", "42891", "4289134", "42891a", "428_913", "４２８９１３", "٤٢٨٩١٣", "428.913", "428913\n", "+428913", "-"])
    func rejectsInvalidCodes(typed: String) {
        #expect(PairingCode(typed: typed) == nil)
    }

    @Test func displayAndRedaction() throws {
        let code = try #require(PairingCode(typed: "428913"))
        #expect(code.display == "428 913")
        #expect("\(code)" == "PairingCode(redacted)")
        #expect(String(reflecting: code) == "PairingCode(redacted)")
        #expect(code == PairingCode(typed: "428 913"))
        #expect(code != PairingCode(typed: "428914"))
    }

    @Test func randomCodesAreSixDigits() {
        var seen = Set<String>()
        for _ in 0..<200 {
            let code = PairingCode.random()
            #expect(code.digits.count == 6)
            #expect(code.digits.allSatisfy { $0.isASCII && $0.isNumber })
            #expect(PairingCode(typed: code.display) == code)
            seen.insert(code.digits)
        }
        #expect(seen.count > 190)
    }
}
