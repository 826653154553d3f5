import Foundation
import NIOCore
import ParleyCodec
import ParleyJSON

/// A JSON input that does not describe a frame.
public struct StompJSONError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong, naming the offending field.
    public var message: String

    /// An error with `message`.
    public init(_ message: String) {
        self.message = message
    }

    /// The message.
    public var description: String { message }
}

/// The JSON form of a decoded item, shared by fixtures, `parley frames` and conformance reports:
/// `{"command": "SEND", "headers": [["destination", "/q"]], "body": "text"}` (or `"bodyBase64"` when the body is
/// not valid UTF-8), and `{"heartBeat": true}` for a heart-beat.
public struct StompDecodedJSON: Codable, Hashable, Sendable {
    /// The frame or heart-beat.
    public var value: StompDecoded

    /// Wraps `value`.
    public init(_ value: StompDecoded) {
        self.value = value
    }

    private enum Keys: String, CodingKey {
        case heartBeat, command, headers, body, bodyBase64
    }

    /// Reads either form; rejects unknown keys, malformed header pairs and bad base64 with a clear message.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        let raw = try decoder.container(keyedBy: AnyKey.self)
        let known = Set(["heartBeat", "command", "headers", "body", "bodyBase64"])
        if let unknown = raw.allKeys.first(where: { !known.contains($0.stringValue) }) {
            throw StompJSONError("unknown key \"\(unknown.stringValue)\" in frame JSON")
        }
        if let heartBeat = try container.decodeIfPresent(Bool.self, forKey: .heartBeat) {
            guard heartBeat, raw.allKeys.count == 1 else {
                throw StompJSONError("a heart-beat is written {\"heartBeat\": true} with no other key")
            }
            value = .heartBeat
            return
        }
        guard let command = try container.decodeIfPresent(String.self, forKey: .command) else {
            throw StompJSONError("frame JSON needs \"command\" (or \"heartBeat\": true)")
        }
        guard !command.isEmpty, !command.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D || $0 == 0 }) else {
            throw StompJSONError("\"command\" must be non-empty and single-line")
        }
        var headers = StompHeaders()
        for pair in try container.decodeIfPresent([[String]].self, forKey: .headers) ?? [] {
            guard pair.count == 2 else {
                throw StompJSONError("each header must be a [name, value] pair, got \(pair.count) strings")
            }
            headers.add(pair[0], pair[1])
        }
        let text = try container.decodeIfPresent(String.self, forKey: .body)
        let base64 = try container.decodeIfPresent(String.self, forKey: .bodyBase64)
        let body: ByteBuffer
        switch (text, base64) {
        case (let text?, nil): body = ByteBuffer(string: text)
        case (nil, let base64?):
            guard let data = Data(base64Encoded: base64) else {
                throw StompJSONError("\"bodyBase64\" is not valid base64")
            }
            body = ByteBuffer(bytes: data)
        case (nil, nil): body = ByteBuffer()
        case (.some, .some): throw StompJSONError("give \"body\" or \"bodyBase64\", not both")
        }
        value = .frame(StompFrame(StompCommand(rawValue: command), headers: headers, body: body))
    }

    /// Writes `command`, `headers`, then `body` (UTF-8) or `bodyBase64`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        switch value {
        case .heartBeat:
            try container.encode(true, forKey: .heartBeat)
        case .frame(let frame):
            try container.encode(frame.command.rawValue, forKey: .command)
            try container.encode(frame.headers.map { [$0.name, $0.value] }, forKey: .headers)
            if let text = String(validating: frame.body.readableBytesView, as: UTF8.self) {
                try container.encode(text, forKey: .body)
            } else {
                try container.encode(Data(frame.body.readableBytesView).base64EncodedString(), forKey: .bodyBase64)
            }
        }
    }
}

/// Any key, to detect keys a format does not know.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// Conversions between decoded items and their JSON text.
public enum StompJSON {
    /// One item as JSON text, keys in the documented order (command, headers, body): compact (one line) or
    /// pretty-printed. Written by hand because Foundation's encoder does not keep key order on Linux.
    public static func string(for value: StompDecoded, pretty: Bool = false) -> String {
        guard case .frame(let frame) = value else {
            return pretty ? "{\n  \"heartBeat\": true\n}" : #"{"heartBeat":true}"#
        }
        let separator = pretty ? ": " : ":"
        var members: [String] = []
        members.append("\"command\"" + separator + quoted(frame.command.rawValue))
        let pairs = frame.headers.map { "[" + quoted($0.name) + (pretty ? ", " : ",") + quoted($0.value) + "]" }
        if pretty {
            members.append("\"headers\": " + (pairs.isEmpty ? "[]" : "[\n    " + pairs.joined(separator: ",\n    ") + "\n  ]"))
        } else {
            members.append("\"headers\":[" + pairs.joined(separator: ",") + "]")
        }
        if let text = String(validating: frame.body.readableBytesView, as: UTF8.self) {
            members.append("\"body\"" + separator + quoted(text))
        } else {
            members.append("\"bodyBase64\"" + separator + quoted(Data(frame.body.readableBytesView).base64EncodedString()))
        }
        return pretty ? "{\n  " + members.joined(separator: ",\n  ") + "\n}" : "{" + members.joined(separator: ",") + "}"
    }

    /// A JSON string literal (RFC 8259 escaping, DEL escaped too; non-ASCII kept as UTF-8).
    public static func quoted(_ text: String) -> String {
        JSONString.quoted(text, escapingDelete: true)
    }

    /// Reads items from JSON text: one object, an array of objects, or one object per line (what
    /// `parley frames decode` prints).
    public static func items(from data: Data) throws(StompJSONError) -> [StompDecoded] {
        let decoder = JSONDecoder()
        if let single = try? decoder.decode(StompDecodedJSON.self, from: data) { return [single.value] }
        if let list = try? decoder.decode([StompDecodedJSON].self, from: data) { return list.map(\.value) }
        var items: [StompDecoded] = []
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            do {
                items.append(try decoder.decode(StompDecodedJSON.self, from: Data(line)).value)
            } catch let error as StompJSONError {
                throw StompJSONError("line \(lineNumber): \(error.message)")
            } catch let error as DecodingError {
                throw StompJSONError("line \(lineNumber): \(describe(error))")
            } catch {
                throw StompJSONError("line \(lineNumber): \(error)")
            }
        }
        if items.isEmpty { throw StompJSONError("no frame JSON in the input") }
        return items
    }

    /// A one-line explanation of a `DecodingError`, naming the JSON path.
    public static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return path.isEmpty ? "" : " at \(path)"
        }
        switch error {
        case .dataCorrupted(let context):
            if let underlying = context.underlyingError as? StompJSONError { return underlying.message }
            return "invalid JSON\(path(context)): \(context.debugDescription)"
        case .keyNotFound(let key, let context): return "missing key \"\(key.stringValue)\"\(path(context))"
        case .typeMismatch(_, let context): return "wrong type\(path(context)): \(context.debugDescription)"
        case .valueNotFound(_, let context): return "missing value\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
