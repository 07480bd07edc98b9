import Foundation
import Testing
@testable import PeershareAgent

/// The control socket and every `--json` output share one date format; scripts (the LAN
/// lab's scale case among them) compute durations from it, so it keeps milliseconds.
@Suite struct ControlJSONTests {
    struct Stamp: Codable, Equatable { var at: Date }

    @Test func datesKeepMillisecondsThroughARoundTrip() throws {
        let at = Date(timeIntervalSince1970: 1_795_000_000.125)
        let text = ControlJSON.line(Stamp(at: at))
        #expect(text.contains(".125Z"), "\(text)")
        let back = try ControlJSON.decoder().decode(Stamp.self, from: Data(text.utf8))
        #expect(abs(back.at.timeIntervalSince(at)) < 0.001)
    }

    @Test func wholeSecondDatesStillDecode() throws {
        let back = try ControlJSON.decoder().decode(Stamp.self, from: Data(#"{"at":"2026-11-21T10:00:00Z"}"#.utf8))
        #expect(back.at == Date(timeIntervalSince1970: 1_795_255_200))
    }

    @Test func aDateThatIsNotISO8601IsAnError() {
        #expect(throws: DecodingError.self) {
            try ControlJSON.decoder().decode(Stamp.self, from: Data(#"{"at":"yesterday"}"#.utf8))
        }
    }
}
