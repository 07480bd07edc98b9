import PeershareDiscovery

/// A setting's value with its type, so that `config --json` prints `"port": 53317` and
/// `"ask_paired": false` rather than strings a script must parse again.
public enum SettingValue: Codable, Sendable, Equatable {
    case text(String)
    case number(Int)
    case flag(Bool)
    case list([String])

    /// As `peershare config` prints it for people.
    public var description: String {
        switch self {
        case .text(let text): text
        case .number(let number): String(number)
        case .flag(let flag): String(flag)
        case .list(let list): list.isEmpty ? "(all)" : list.joined(separator: ",")
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let flag = try? container.decode(Bool.self) {
            self = .flag(flag)
        } else if let number = try? container.decode(Int.self) {
            self = .number(number)
        } else if let list = try? container.decode([String].self) {
            self = .list(list)
        } else {
            self = .text(try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .text(let text): try container.encode(text)
        case .number(let number): try container.encode(number)
        case .flag(let flag): try container.encode(flag)
        case .list(let list): try container.encode(list)
        }
    }
}

/// A type whose values `Settings` records for `peershare config`.
protocol SettingConvertible {
    var settingValue: SettingValue { get }
}

extension String: SettingConvertible { var settingValue: SettingValue { .text(self) } }
extension Int: SettingConvertible { var settingValue: SettingValue { .number(self) } }
extension Bool: SettingConvertible { var settingValue: SettingValue { .flag(self) } }
extension Array: SettingConvertible where Element == String { var settingValue: SettingValue { .list(self) } }
extension DiscoveryMode: SettingConvertible { var settingValue: SettingValue { .text(rawValue) } }
