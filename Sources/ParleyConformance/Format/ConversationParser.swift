import Foundation
import Yams

/// A conversation file that does not follow the format; `description` points at file and line.
public struct ConversationFormatError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file (or source name).
    public var source: String
    /// 1-based line, 0 when unknown.
    public var line: Int
    /// What is wrong.
    public var message: String

    /// Creates an error.
    public init(source: String, line: Int, message: String) {
        self.source = source
        self.line = line
        self.message = message
    }

    /// `source:line: message`.
    public var description: String { line > 0 ? "\(source):\(line): \(message)" : "\(source): \(message)" }
}

/// Parses the YAML conversation format into `Conversation` values, validating as it goes.
///
/// Hand-written over Yams' node tree (rather than Codable) so that every error carries the YAML line and names
/// the allowed alternatives.
public struct ConversationParser: Sendable {
    /// Name used in error messages.
    public let source: String

    /// Creates a parser for a source name (file name).
    public init(source: String) { self.source = source }

    /// Parses one conversation from YAML text.
    public func parse(_ yaml: String) throws(ConversationFormatError) -> Conversation {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else { throw fail(nil, "empty document") }
            root = node
        } catch let error as ConversationFormatError {
            throw error
        } catch let error as YamlError {
            throw ConversationFormatError(source: source, line: Self.line(of: error), message: "invalid YAML: \(error)")
        } catch {
            throw ConversationFormatError(source: source, line: 0, message: "invalid YAML: \(error)")
        }
        return try conversation(root)
    }

    /// Loads and parses a conversation file; the name must match the file name.
    public static func load(file: URL) throws(ConversationFormatError) -> Conversation {
        let text: String
        do { text = try String(contentsOf: file, encoding: .utf8) } catch {
            throw ConversationFormatError(source: file.lastPathComponent, line: 0, message: "cannot read file")
        }
        let conversation = try ConversationParser(source: file.lastPathComponent).parse(text)
        let expected = file.deletingPathExtension().lastPathComponent
        guard conversation.name == expected else {
            throw ConversationFormatError(
                source: file.lastPathComponent, line: 1,
                message: "name '\(conversation.name)' must equal the file name '\(expected)'")
        }
        return conversation
    }

    /// Loads every `*.yaml` in `directory`, sorted by name; fails on the first invalid file.
    public static func loadAll(in directory: URL) throws(ConversationFormatError) -> [Conversation] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
                .filter { $0.hasSuffix(".yaml") }.sorted()
        } catch {
            throw ConversationFormatError(source: directory.path, line: 0, message: "cannot list directory")
        }
        var result: [Conversation] = []
        var seen: Set<String> = []
        for name in names {
            let conversation = try load(file: directory.appendingPathComponent(name))
            guard seen.insert(conversation.name).inserted else {
                throw ConversationFormatError(source: name, line: 1, message: "duplicate conversation name")
            }
            result.append(conversation)
        }
        return result
    }

    // MARK: - Top level

    private static let topKeys: Set<String> = ["name", "title", "reference", "tags", "transports", "timeout", "clients", "steps"]

    private func conversation(_ node: Node) throws(ConversationFormatError) -> Conversation {
        let mapping = try self.mapping(node, "conversation")
        try checkKeys(mapping, allowed: Self.topKeys, context: "conversation")
        let name = try requiredString(mapping, "name", node)
        guard name.range(of: #"^[a-z0-9][a-z0-9.-]*$"#, options: .regularExpression) != nil else {
            throw fail(mapping["name"], "name '\(name)' must be lowercase letters, digits, '-' and '.'")
        }
        let title = try requiredString(mapping, "title", node)
        let reference = try optionalString(mapping, "reference")
        let tags = try stringList(mapping["tags"], "tags")
        guard !tags.isEmpty else { throw fail(node, "tags must name at least one capability (e.g. generic)") }
        let transports = try mapping["transports"].map { (node: Node) throws(ConversationFormatError) in
            try stringList(node, "transports")
        }
        for transport in transports ?? [] where transport != "tcp" && transport != "websocket" {
            throw fail(mapping["transports"], "transport '\(transport)' must be tcp or websocket")
        }
        let timeout = try mapping["timeout"].map { (node: Node) throws(ConversationFormatError) in try duration(node) } ?? 3
        let clients = try self.clients(mapping["clients"], node)
        guard let stepsNode = mapping["steps"] else { throw fail(node, "missing key 'steps'") }
        let names = Set(clients.map(\.name))
        let steps = try self.steps(stepsNode, clients: names)
        guard !steps.isEmpty else { throw fail(stepsNode, "steps must not be empty") }
        return Conversation(
            name: name, title: title, reference: reference, tags: tags, transports: transports,
            defaultTimeout: timeout, clients: clients, steps: steps)
    }

    private func clients(_ node: Node?, _ parent: Node) throws(ConversationFormatError) -> [ClientSpec] {
        guard let node else { throw fail(parent, "missing key 'clients'") }
        let mapping = try self.mapping(node, "clients")
        var result: [ClientSpec] = []
        for (keyNode, valueNode) in mapping {
            let name = try string(keyNode, "client name")
            guard name.range(of: #"^[a-z][a-z0-9_]*$"#, options: .regularExpression) != nil, name != "sleep",
                name != "parallel"
            else {
                throw fail(keyNode, "client name '\(name)' must be lowercase letters, digits, '_' (not sleep/parallel)")
            }
            if isNull(valueNode) {
                result.append(ClientSpec(name: name))
                continue
            }
            let options = try self.mapping(valueNode, "client \(name)")
            try checkKeys(options, allowed: ["user", "token", "auth", "login", "passcode"], context: "client \(name)")
            let user = try optionalString(options, "user")
            var credentials = CredentialSource.profileDefault
            if let token = try optionalString(options, "token") {
                guard let kind = TokenKind(rawValue: token) else {
                    throw fail(
                        options["token"],
                        "token '\(token)' must be one of \(TokenKind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                credentials = .token(kind)
            }
            if let auth = try optionalString(options, "auth") {
                switch auth {
                case "none": credentials = .none
                case "default": credentials = .profileDefault
                default: throw fail(options["auth"], "auth must be none or default")
                }
            }
            if let login = try optionalString(options, "login") {
                credentials = .login(login: login, passcode: try optionalString(options, "passcode") ?? "")
            }
            result.append(ClientSpec(name: name, user: user, credentials: credentials))
        }
        guard !result.isEmpty else { throw fail(node, "clients must declare at least one client") }
        return result
    }

    // MARK: - Steps

    private func steps(_ node: Node, clients: Set<String>) throws(ConversationFormatError) -> [Step] {
        guard let sequence = node.sequence else { throw fail(node, "steps must be a list") }
        var result: [Step] = []
        for item in sequence {
            result.append(try step(item, clients: clients))
        }
        return result
    }

    private func step(_ node: Node, clients: Set<String>) throws(ConversationFormatError) -> Step {
        let mapping = try self.mapping(node, "step")
        guard mapping.count == 1, let (keyNode, value) = mapping.first.map({ ($0.key, $0.value) }) else {
            throw fail(node, "a step is a mapping with exactly one key: a client name, sleep or parallel")
        }
        let key = try string(keyNode, "step key")
        let line = Self.line(node)
        switch key {
        case "sleep":
            return .sleep(seconds: try duration(value), line: line)
        case "parallel":
            let nested = try steps(value, clients: clients)
            guard !nested.isEmpty else { throw fail(value, "parallel needs at least one step") }
            return .parallel(nested, line: line)
        default:
            guard clients.contains(key) else {
                throw fail(keyNode, "unknown client '\(key)' (declared: \(clients.sorted().joined(separator: ", ")))")
            }
            return .client(name: key, action: try action(value), line: line)
        }
    }

    private static let actionNames = [
        "connect", "subscribe", "unsubscribe", "send", "say", "dm", "ack", "nack", "disconnect", "frame", "raw",
        "raw_fixture", "heart_beat", "abort", "expect", "expect_any_order", "expect_nothing", "expect_closed",
        "expect_heart_beat",
    ]

    private func action(_ node: Node) throws(ConversationFormatError) -> ClientAction {
        // Shorthand: `alice: connect`, `alice: disconnect`, `alice: heart_beat`, `alice: abort`.
        if let word = node.scalar?.string {
            switch word {
            case "connect": return .connect(ConnectOptions())
            case "disconnect": return .disconnect(receipt: nil)
            case "heart_beat": return .heartBeat
            case "abort": return .abort
            default:
                throw fail(node, "unknown action '\(word)'; a bare word may be connect, disconnect, heart_beat or abort")
            }
        }
        let mapping = try self.mapping(node, "action")
        // The action is the first key (`{subscribe: /q, ack: client}`); the other keys are its options.
        guard let name = mapping.first?.key.string, Self.actionNames.contains(name) else {
            let first = mapping.first?.key.string ?? "?"
            throw fail(node, "a step starts with its action, not '\(first)'; actions: \(Self.actionNames.joined(separator: ", "))")
        }
        let value = mapping[name]!
        switch name {
        case "connect":
            try checkKeys(mapping, allowed: ["connect"], context: "connect")
            return .connect(try connectOptions(value))
        case "subscribe":
            try checkKeys(mapping, allowed: ["subscribe", "id", "ack", "receipt", "headers"], context: "subscribe")
            var id: String? = "${auto.subscription}"
            if let idNode = mapping["id"] { id = isNull(idNode) ? nil : try string(idNode, "id") }
            let ack = try optionalString(mapping, "ack")
            if let ack, !["auto", "client", "client-individual"].contains(ack) {
                throw fail(mapping["ack"], "ack must be auto, client or client-individual")
            }
            return .subscribe(
                destination: try string(value, "subscribe destination"), id: id, ack: ack,
                receipt: try optionalString(mapping, "receipt"), headers: try headerPairs(mapping["headers"]))
        case "unsubscribe":
            try checkKeys(mapping, allowed: ["unsubscribe", "receipt"], context: "unsubscribe")
            return .unsubscribe(id: try string(value, "unsubscribe id"), receipt: try optionalString(mapping, "receipt"))
        case "send":
            try checkKeys(mapping, allowed: ["send", "body", "body_size", "headers", "receipt"], context: "send")
            return .send(
                destination: try string(value, "send destination"), body: try optionalString(mapping, "body") ?? "",
                headers: try headerPairs(mapping["headers"]), receipt: try optionalString(mapping, "receipt"),
                bodySize: try optionalSize(mapping, "body_size") ?? 0)
        case "say":
            try checkKeys(mapping, allowed: ["say", "content", "receipt"], context: "say")
            return .say(
                room: try string(value, "room"), content: try requiredString(mapping, "content", node),
                receipt: try optionalString(mapping, "receipt"))
        case "dm":
            try checkKeys(mapping, allowed: ["dm", "content", "receipt"], context: "dm")
            return .directMessage(
                to: try string(value, "dm receiver"), content: try requiredString(mapping, "content", node),
                receipt: try optionalString(mapping, "receipt"))
        case "ack", "nack":
            try checkKeys(mapping, allowed: [name, "subscription", "receipt"], context: name)
            return .acknowledge(
                nack: name == "nack", id: try string(value, "\(name) id"),
                subscription: try optionalString(mapping, "subscription"), receipt: try optionalString(mapping, "receipt"))
        case "disconnect":
            try checkKeys(mapping, allowed: ["disconnect", "receipt"], context: "disconnect")
            var receipt = try optionalString(mapping, "receipt")
            if receipt == nil, let options = value.mapping {
                try checkKeys(options, allowed: ["receipt"], context: "disconnect")
                receipt = try optionalString(options, "receipt")
            }
            return .disconnect(receipt: receipt)
        case "frame":
            try checkKeys(mapping, allowed: ["frame"], context: "frame")
            let frame = try self.mapping(value, "frame")
            try checkKeys(frame, allowed: ["command", "headers", "body"], context: "frame")
            return .frame(
                command: try requiredString(frame, "command", value), headers: try headerPairs(frame["headers"]),
                body: try optionalString(frame, "body") ?? "")
        case "raw":
            try checkKeys(mapping, allowed: ["raw"], context: "raw")
            return .raw(bytes: Array(try string(value, "raw").utf8))
        case "raw_fixture":
            try checkKeys(mapping, allowed: ["raw_fixture"], context: "raw_fixture")
            let fixture = try string(value, "raw_fixture")
            guard fixture.range(of: #"^[A-Za-z0-9._/-]+$"#, options: .regularExpression) != nil, !fixture.contains("..")
            else { throw fail(value, "raw_fixture '\(fixture)' must be a fixture name like invalid-content-length") }
            return .rawFixture(name: fixture)
        case "heart_beat":
            return .heartBeat
        case "abort":
            return .abort
        case "expect":
            return .expect(try expectation(mapping, commandNode: value, context: node))
        case "expect_any_order":
            try checkKeys(mapping, allowed: ["expect_any_order"], context: "expect_any_order")
            guard let items = value.sequence, !items.isEmpty else {
                throw fail(value, "expect_any_order needs a list of expectations")
            }
            var expectations: [FrameExpectation] = []
            for item in items {
                let itemMapping = try self.mapping(item, "expectation")
                guard let command = itemMapping["expect"] else { throw fail(item, "each entry needs 'expect: COMMAND'") }
                expectations.append(try expectation(itemMapping, commandNode: command, context: item))
            }
            return .expectAnyOrder(expectations)
        case "expect_nothing":
            try checkKeys(mapping, allowed: ["expect_nothing"], context: "expect_nothing")
            return .expectNothing(try waitTime(value))
        case "expect_closed":
            try checkKeys(mapping, allowed: ["expect_closed", "allow"], context: "expect_closed")
            return .expectClosed(try waitTime(value), allowing: try stringList(mapping["allow"], "allow"))
        case "expect_heart_beat":
            try checkKeys(mapping, allowed: ["expect_heart_beat"], context: "expect_heart_beat")
            return .expectHeartBeat(try waitTime(value))
        default:
            throw fail(node, "unknown action \(name)")
        }
    }

    private func connectOptions(_ node: Node) throws(ConversationFormatError) -> ConnectOptions {
        if isNull(node) { return ConnectOptions() }
        let mapping = try self.mapping(node, "connect options")
        try checkKeys(
            mapping,
            allowed: ["command", "accept_version", "heart_beat", "host", "headers", "await", "authenticate", "padding"],
            context: "connect")
        var options = ConnectOptions()
        if let command = try optionalString(mapping, "command") {
            guard command == "CONNECT" || command == "STOMP" else { throw fail(mapping["command"], "command must be CONNECT or STOMP") }
            options.command = command
        }
        if let versionNode = mapping["accept_version"] {
            if isNull(versionNode) { options.omitAcceptVersion = true } else { options.acceptVersion = try string(versionNode, "accept_version") }
        }
        options.heartBeat = try optionalString(mapping, "heart_beat")
        options.host = try optionalString(mapping, "host")
        options.headers = try headerPairs(mapping["headers"])
        options.awaitConnected = try optionalBool(mapping, "await") ?? true
        options.authenticate = try optionalBool(mapping, "authenticate") ?? true
        options.padding = try optionalSize(mapping, "padding") ?? 0
        return options
    }

    private func expectation(_ mapping: Node.Mapping, commandNode: Node, context: Node) throws(ConversationFormatError)
        -> FrameExpectation
    {
        try checkKeys(
            mapping, allowed: ["expect", "headers", "body", "content", "json", "within", "capture"], context: "expect")
        let command = try string(commandNode, "expect command")
        guard command.range(of: "^[A-Z]+$", options: .regularExpression) != nil else {
            throw fail(commandNode, "expect needs a frame command such as MESSAGE, RECEIPT, ERROR, CONNECTED")
        }
        var expectation = FrameExpectation(command: command)
        if let headers = mapping["headers"] {
            for (name, matcher) in try self.mapping(headers, "headers") {
                expectation.headers.append(HeaderMatch(try string(name, "header name"), try valueMatcher(matcher)))
            }
        }
        expectation.body = try mapping["body"].map { (node: Node) throws(ConversationFormatError) in try valueMatcher(node) }
        expectation.content = try mapping["content"].map { (node: Node) throws(ConversationFormatError) in try valueMatcher(node) }
        if let json = mapping["json"] {
            for (path, matcher) in try self.mapping(json, "json") {
                expectation.json.append(JSONFieldMatch(try string(path, "json path"), try valueMatcher(matcher)))
            }
        }
        expectation.within = try mapping["within"].map { (node: Node) throws(ConversationFormatError) in try duration(node) }
        if let captures = mapping["capture"] {
            for (nameNode, sourceNode) in try self.mapping(captures, "capture") {
                let name = try string(nameNode, "capture name")
                if let header = sourceNode.scalar?.string {
                    expectation.captures.append(Capture(name: name, source: header == "body" ? .body : .header(header)))
                } else {
                    let source = try self.mapping(sourceNode, "capture source")
                    if let header = try optionalString(source, "header") {
                        expectation.captures.append(Capture(name: name, source: .header(header)))
                    } else if let path = try optionalString(source, "json") {
                        expectation.captures.append(Capture(name: name, source: .jsonField(path)))
                    } else {
                        throw fail(sourceNode, "capture source is a header name, {header: NAME}, {json: PATH} or body")
                    }
                }
            }
        }
        return expectation
    }

    private func valueMatcher(_ node: Node) throws(ConversationFormatError) -> ValueMatcher {
        if let scalar = node.scalar {
            return .equals(scalar.string)
        }
        let mapping = try self.mapping(node, "matcher")
        guard mapping.count == 1, let key = mapping.first?.key.string, let value = mapping.first?.value else {
            throw fail(node, "a matcher is a string or one of {regex: R}, {contains: S}, {not: S}, {present: true}, {absent: true}, {empty: true}")
        }
        switch key {
        case "regex":
            let pattern = try string(value, "regex")
            do { _ = try NSRegularExpression(pattern: pattern) } catch {
                throw fail(value, "invalid regular expression '\(pattern)'")
            }
            return .regex(pattern)
        case "contains": return .contains(try string(value, "contains"))
        case "not": return .notEquals(try string(value, "not"))
        case "equals": return .equals(try string(value, "equals"))
        case "present", "absent", "empty":
            guard value.bool == true else { throw fail(value, "\(key) takes true") }
            return key == "present" ? .present : key == "absent" ? .absent : .empty
        default:
            throw fail(node, "unknown matcher '\(key)'; use regex, contains, not, equals, present, absent or empty")
        }
    }

    // MARK: - Helpers

    private func headerPairs(_ node: Node?) throws(ConversationFormatError) -> [HeaderPair] {
        guard let node else { return [] }
        var pairs: [HeaderPair] = []
        for (name, value) in try mapping(node, "headers") {
            pairs.append(HeaderPair(try string(name, "header name"), try string(value, "header value")))
        }
        return pairs
    }

    /// A duration, or `{server_heart_beats: N}` / `{client_heart_beats: N}` (multiples of the negotiated interval).
    private func waitTime(_ node: Node) throws(ConversationFormatError) -> WaitTime {
        guard let mapping = node.mapping else { return .seconds(try duration(node)) }
        try checkKeys(mapping, allowed: ["server_heart_beats", "client_heart_beats"], context: "wait time")
        guard mapping.count == 1, let key = mapping.first?.key.string, let valueNode = mapping.first?.value,
            let factor = valueNode.scalar.flatMap({ Double($0.string) }), factor > 0, factor <= 100
        else {
            throw fail(node, "a wait time is a duration, {server_heart_beats: N} or {client_heart_beats: N} with 0 < N <= 100")
        }
        return key == "server_heart_beats" ? .serverHeartBeats(factor) : .clientHeartBeats(factor)
    }

    /// Parses `500ms`, `2s`, `1.5s` or a bare number of seconds.
    private func duration(_ node: Node) throws(ConversationFormatError) -> Double {
        let text = try string(node, "duration").trimmingCharacters(in: .whitespaces)
        if let seconds = Self.parseDuration(text) { return seconds }
        throw fail(node, "duration '\(text)' must look like 500ms, 2s or 1.5")
    }

    /// `500ms` → 0.5, `2s` → 2, `1.5` → 1.5; nil when malformed or out of 0…600 s.
    public static func parseDuration(_ text: String) -> Double? {
        let value: Double?
        if text.hasSuffix("ms") {
            value = Double(text.dropLast(2)).map { $0 / 1000 }
        } else if text.hasSuffix("s") {
            value = Double(text.dropLast())
        } else {
            value = Double(text)
        }
        guard let value, value >= 0, value <= 600 else { return nil }
        return value
    }

    private func mapping(_ node: Node, _ what: String) throws(ConversationFormatError) -> Node.Mapping {
        guard let mapping = node.mapping else { throw fail(node, "\(what) must be a mapping") }
        return mapping
    }

    private func string(_ node: Node, _ what: String) throws(ConversationFormatError) -> String {
        guard let scalar = node.scalar else { throw fail(node, "\(what) must be a string") }
        return scalar.string
    }

    private func requiredString(_ mapping: Node.Mapping, _ key: String, _ parent: Node) throws(ConversationFormatError) -> String {
        guard let node = mapping[key] else { throw fail(parent, "missing key '\(key)'") }
        return try string(node, key)
    }

    private func optionalString(_ mapping: Node.Mapping, _ key: String) throws(ConversationFormatError) -> String? {
        guard let node = mapping[key], !isNull(node) else { return nil }
        return try string(node, key)
    }

    /// A byte count: `1024`, `64KiB`, `2MiB`; at most 64 MiB.
    private func optionalSize(_ mapping: Node.Mapping, _ key: String) throws(ConversationFormatError) -> Int? {
        guard let node = mapping[key] else { return nil }
        let text = try string(node, key)
        var multiplier = 1
        var digits = Substring(text)
        if text.hasSuffix("KiB") { multiplier = 1024; digits = digits.dropLast(3) }
        else if text.hasSuffix("MiB") { multiplier = 1 << 20; digits = digits.dropLast(3) }
        guard let value = Int(digits), value >= 0, value * multiplier <= 64 << 20 else {
            throw fail(node, "\(key) '\(text)' must be a byte count like 4096, 64KiB or 2MiB (at most 64MiB)")
        }
        return value * multiplier
    }

    private func optionalBool(_ mapping: Node.Mapping, _ key: String) throws(ConversationFormatError) -> Bool? {
        guard let node = mapping[key] else { return nil }
        guard let value = node.bool else { throw fail(node, "\(key) must be true or false") }
        return value
    }

    private func stringList(_ node: Node?, _ what: String) throws(ConversationFormatError) -> [String] {
        guard let node else { return [] }
        guard let sequence = node.sequence else { throw fail(node, "\(what) must be a list") }
        var result: [String] = []
        for item in sequence { result.append(try string(item, what)) }
        return result
    }

    private func isNull(_ node: Node) -> Bool {
        guard let scalar = node.scalar, scalar.style == .plain else { return false }
        return ["~", "null", "", "Null", "NULL"].contains(scalar.string)
    }

    private func checkKeys(_ mapping: Node.Mapping, allowed: Set<String>, context: String) throws(ConversationFormatError) {
        for key in mapping.keys {
            let name = key.string ?? "?"
            guard allowed.contains(name) else {
                throw fail(key, "unknown key '\(name)' in \(context) (allowed: \(allowed.sorted().joined(separator: ", ")))")
            }
        }
    }

    private func fail(_ node: Node?, _ message: String) -> ConversationFormatError {
        ConversationFormatError(source: source, line: node.map(Self.line) ?? 0, message: message)
    }

    private static func line(_ node: Node) -> Int { node.mark?.line ?? 0 }

    private static func line(of error: YamlError) -> Int {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _): return mark.line
        default: return 0
        }
    }
}
