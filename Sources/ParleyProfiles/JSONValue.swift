import Foundation

/// A parsed JSON value with dotted-path lookup (`tokenResponse.accessToken`, `items.0.id`).
///
/// Used for account API responses and JSON body matchers; small on purpose.
public enum JSONValue: Sendable, Hashable {
    /// `null`.
    case null
    /// `true` / `false`.
    case bool(Bool)
    /// Any number (kept as Double; integers up to 2^53 are exact).
    case number(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object.
    case object([String: JSONValue])

    /// Parses `data` as JSON (fragments allowed).
    public init(data: Data) throws {
        let object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        self = JSONValue(foundation: object)
    }

    /// Parses `text` as JSON.
    public init(text: String) throws {
        try self.init(data: Data(text.utf8))
    }

    private init(foundation object: Any) {
        switch object {
        case let dictionary as [String: Any]:
            self = .object(dictionary.mapValues { JSONValue(foundation: $0) })
        case let array as [Any]:
            self = .array(array.map { JSONValue(foundation: $0) })
        case let string as String:
            self = .string(string)
        case let number as NSNumber:
            // NSNumber wraps booleans too; their Objective-C type code is "c" on every platform.
            if String(cString: number.objCType) == "c" {
                self = .bool(number.boolValue)
            } else {
                self = .number(number.doubleValue)
            }
        default:
            self = .null
        }
    }

    /// The value at a dotted path (`a.b.0.c`); nil when any component is missing.
    public subscript(path path: String) -> JSONValue? {
        var current: JSONValue = self
        for component in path.split(separator: ".", omittingEmptySubsequences: true) {
            switch current {
            case .object(let members):
                guard let next = members[String(component)] else { return nil }
                current = next
            case .array(let items):
                guard let index = Int(component), items.indices.contains(index) else { return nil }
                current = items[index]
            default:
                return nil
            }
        }
        return current
    }

    /// The string when this is a string.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// A plain-text rendering for comparisons: strings bare, integral numbers without `.0`, others as JSON.
    public var textValue: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .number(let value):
            if value.rounded() == value && abs(value) < 1e15 { return String(Int64(value)) }
            return String(value)
        case .string(let value): return value
        case .array(let items): return "[" + items.map(\.jsonText).joined(separator: ",") + "]"
        case .object(let members):
            return "{" + members.sorted { $0.key < $1.key }.map { Template.jsonStringLiteral($0.key) + ":" + $0.value.jsonText }
                .joined(separator: ",") + "}"
        }
    }

    /// Compact JSON text.
    public var jsonText: String {
        if case .string(let value) = self { return Template.jsonStringLiteral(value) }
        return textValue
    }
}
