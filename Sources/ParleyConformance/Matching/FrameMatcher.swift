import Foundation
import ParleyCodec
import ParleyProfiles

/// Checks received frames against `FrameExpectation`s whose patterns have already been resolved (no `${…}`).
public struct FrameMatcher: Sendable {
    /// Dotted JSON path of the logical content in a body (the profile's `content_field`); nil = whole body.
    public var contentField: String?

    /// Creates a matcher.
    public init(contentField: String? = nil) { self.contentField = contentField }

    /// The reasons `frame` does not satisfy `expectation`; empty when it matches.
    public func mismatches(_ frame: StompFrame, against expectation: FrameExpectation) -> [String] {
        var problems: [String] = []
        if frame.command.rawValue != expectation.command {
            problems.append("command is \(frame.command.rawValue), expected \(expectation.command)")
            // Header and body details of a different command only add noise.
            return problems
        }
        for header in expectation.headers {
            let actual = frame.headers[header.name]
            if let problem = Self.check(actual, header.matcher, what: "header \(header.name)") {
                problems.append(problem)
            }
        }
        let body = frame.bodyString
        if let matcher = expectation.body, let problem = Self.check(body, matcher, what: "body") {
            problems.append(problem)
        }
        if let matcher = expectation.content {
            if let problem = Self.check(content(of: body), matcher, what: "content") {
                problems.append(problem)
            }
        }
        if !expectation.json.isEmpty {
            if let json = try? JSONValue(text: body) {
                for field in expectation.json {
                    if let problem = Self.check(json[path: field.path]?.textValue, field.matcher, what: "json \(field.path)") {
                        problems.append(problem)
                    }
                }
            } else {
                problems.append("body is not JSON, expected fields \(expectation.json.map(\.path).joined(separator: ", "))")
            }
        }
        return problems
    }

    /// The logical content of a body: the `contentField` of its JSON, or the body itself.
    public func content(of body: String) -> String? {
        guard let contentField else { return body }
        return (try? JSONValue(text: body))?[path: contentField]?.textValue
    }

    /// Compares one optional value; returns a problem description or nil.
    public static func check(_ actual: String?, _ matcher: ValueMatcher, what: String) -> String? {
        switch matcher {
        case .present:
            return actual == nil ? "\(what) is absent, expected present" : nil
        case .absent:
            return actual.map { "\(what) is \(quote($0)), expected absent" }
        case .empty:
            guard let actual else { return nil }
            return actual.isEmpty ? nil : "\(what) is \(quote(actual)), expected empty"
        case .equals(let expected):
            guard let actual else { return "\(what) is absent, expected \(quote(expected))" }
            return actual == expected ? nil : "\(what) is \(quote(actual)), expected \(quote(expected))"
        case .notEquals(let unexpected):
            guard let actual else { return nil }
            return actual == unexpected ? "\(what) is \(quote(actual)), expected anything else" : nil
        case .contains(let part):
            guard let actual else { return "\(what) is absent, expected to contain \(quote(part))" }
            return actual.contains(part) ? nil : "\(what) is \(quote(actual)), expected to contain \(quote(part))"
        case .regex(let pattern):
            guard let actual else { return "\(what) is absent, expected to match /\(pattern)/" }
            guard let regex = try? NSRegularExpression(pattern: pattern, options: [.dotMatchesLineSeparators]) else {
                return "invalid regular expression /\(pattern)/"
            }
            let range = NSRange(actual.startIndex..., in: actual)
            return regex.firstMatch(in: actual, range: range) != nil
                ? nil : "\(what) is \(quote(actual)), expected to match /\(pattern)/"
        }
    }

    private static func quote(_ text: String) -> String {
        let shown = text.count > 200 ? String(text.prefix(200)) + "…" : text
        return "\"" + WireText.escapeControlCharacters(shown) + "\""
    }
}

extension ValueMatcher {
    /// The matcher with `resolve` applied to its pattern.
    func mapPattern(_ resolve: (String) throws -> String) rethrows -> ValueMatcher {
        switch self {
        case .equals(let value): return .equals(try resolve(value))
        case .regex(let value): return .regex(try resolve(value))
        case .contains(let value): return .contains(try resolve(value))
        case .notEquals(let value): return .notEquals(try resolve(value))
        case .present, .absent, .empty: return self
        }
    }

    /// Human form used in reports (`"x"`, `/re/`, `present`…).
    public var summary: String {
        switch self {
        case .equals(let value): return "\"\(value)\""
        case .regex(let value): return "/\(value)/"
        case .contains(let value): return "contains \"\(value)\""
        case .notEquals(let value): return "not \"\(value)\""
        case .present: return "present"
        case .absent: return "absent"
        case .empty: return "empty"
        }
    }
}

extension FrameExpectation {
    /// The expectation in a wire-like form for failure reports.
    public var summary: String {
        var lines = [command]
        for header in headers { lines.append("\(header.name): \(header.matcher.summary)") }
        if let body { lines.append("body: \(body.summary)") }
        if let content { lines.append("content: \(content.summary)") }
        for field in json { lines.append("json \(field.path): \(field.matcher.summary)") }
        return lines.joined(separator: "\n")
    }
}

/// Renders frames and bytes as they were on the wire, with control characters made visible.
public enum WireText {
    /// The frame encoded for `version`, shown as text: EOLs stay line breaks, NUL shows as `^@`, other control
    /// bytes and invalid UTF-8 as `\xNN`, so reports (and XML) stay printable.
    public static func render(_ frame: StompFrame, version: StompVersion = .v1_2) -> String {
        let buffer = StompEncoder.encode(frame, version: version)
        return render(bytes: Array(buffer.readableBytesView))
    }

    /// Renders raw bytes the same way.
    public static func render(bytes: [UInt8]) -> String {
        var output = ""
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case 0x00: output += "^@"
            case 0x0A: output += "\n"
            case 0x0D: output += "\\r"
            case 0x09: output += "\\t"
            case 0x01..<0x20, 0x7F: output += String(format: "\\x%02X", byte)
            case 0x20..<0x7F: output.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                // A multi-byte UTF-8 sequence: copy it if valid, else show the byte.
                let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
                if length > 1, index + length <= bytes.count,
                    let text = String(validating: bytes[index..<(index + length)], as: UTF8.self)
                {
                    output += text
                    index += length
                    continue
                }
                output += String(format: "\\x%02X", byte)
            }
            index += 1
        }
        return output
    }

    /// Escapes control characters in a one-line value (`\n`, `\r`, `\0`, `\xNN`).
    public static func escapeControlCharacters(_ text: String) -> String {
        var output = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\0": output += "\\0"
            case let s where s.value < 0x20 || s.value == 0x7F: output += String(format: "\\x%02X", s.value)
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output
    }
}
