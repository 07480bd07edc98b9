import ArgumentParser
import PeershareCore

/// A first word that is not a subcommand. `run` is the default subcommand and takes no
/// positional argument, so without this check `peershare sned x` would answer with `run`'s
/// usage, which names neither the typo nor the command that was meant.
struct UnknownSubcommand {
    let word: String
    let suggestion: String?

    var message: String {
        let escaped = DisplayEscape.escape(word)
        if let suggestion {
            return "'\(escaped)' is not a command. Did you mean '\(suggestion)'? See `peershare --help`."
        }
        return "'\(escaped)' is not a command. See `peershare --help`."
    }

    /// The unknown first word of `arguments`, if it is neither an option nor a subcommand
    /// (nor `help`, which ArgumentParser handles).
    static func first(in arguments: [String], known: [any ParsableCommand.Type]) -> UnknownSubcommand? {
        guard let word = arguments.first, !word.hasPrefix("-"), word != "help" else { return nil }
        let names = known.compactMap { $0.configuration.commandName } + ["help"]
        guard !names.contains(word) else { return nil }
        let close = names.min { distance($0, word) < distance($1, word) }
        let suggestion = close.flatMap { distance($0, word) <= 2 ? $0 : nil }
        return UnknownSubcommand(word: word, suggestion: suggestion)
    }

    /// Levenshtein distance, for the suggestion (names are a few letters long).
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var previous = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return row[b.count]
    }
}
