import Foundation
import SodiumKit
import Testing

/// The known answers in docs/vectors, which a second implementation checks itself against
/// and which these tests check this one against, so the document and the code cannot drift.
///
/// Each vector test computes its file's content from the implementation (and, where the
/// document gives a formula, once more from raw libsodium calls) and compares it with the
/// file. With `PEERSHARE_WRITE_VECTORS=1` the tests write the files instead (run as a user
/// who may write docs/vectors), so a deliberate protocol change regenerates them in one step.
enum VectorFiles {
    /// docs/vectors, found from this source file's path (the tests run from .build).
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/vectors")

    static var writing: Bool { ProcessInfo.processInfo.environment["PEERSHARE_WRITE_VECTORS"] == "1" }

    /// The vector file `name`, decoded; with `PEERSHARE_WRITE_VECTORS=1`, `computed` is written
    /// there first.
    static func load<V: Codable>(_ name: String, computed: V? = nil,
                                 sourceLocation: SourceLocation = #_sourceLocation) throws -> V {
        let url = directory.appendingPathComponent(name)
        if writing, let computed {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try (encoder.encode(computed) + Data("\n".utf8)).write(to: url, options: .atomic)
        }
        let data = try Data(contentsOf: url)
        return try JSONDecoder().decode(V.self, from: data)
    }
}

/// Compares two name → value tables entry by entry, so a failure names the field that drifted.
func expectSameFields(_ file: [String: String], _ computed: [String: String], _ what: String,
                      sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(Set(file.keys) == Set(computed.keys), "\(what): fields differ", sourceLocation: sourceLocation)
    for (name, value) in computed.sorted(by: { $0.key < $1.key }) {
        #expect(file[name] == value, "\(what).\(name)", sourceLocation: sourceLocation)
    }
}

/// Lowercase hex of `bytes`.
func hex(_ bytes: [UInt8]) -> String { Hex.encode(bytes) }
