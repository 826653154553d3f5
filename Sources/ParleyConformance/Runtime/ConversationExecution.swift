import Foundation
import NIOCore
import ParleyCodec
import ParleyProfiles

/// A step that did not hold; carries the report detail.
struct StepFailure: Error {
    var detail: FailureDetail
}

/// The live state of one client during a conversation.
final class ClientState: @unchecked Sendable {
    // Only touched from the owning ConversationExecution actor; the class is just a box.
    let spec: ClientSpec
    let inbox = Inbox()
    var wire: (any ConformanceWire)?
    var credentials: ClientCredentials?
    var version: StompVersion = .v1_2
    var connectedHeaders: [String: String] = [:]
    /// What this client asked for in CONNECT (`heart-beat`), to negotiate with CONNECTED's answer.
    var requestedHeartBeat = StompHeartBeat(send: 0, receive: 0)
    /// Negotiated intervals in ms: client→server (`outgoing`) and server→client (`incoming`).
    var negotiatedHeartBeat: (outgoing: Int, incoming: Int) = (0, 0)
    var subscriptionCount = 0
    var lastSubscription: String?

    init(spec: ClientSpec) { self.spec = spec }
}

/// Executes one conversation's script. An actor so that `parallel` steps can share client state safely.
actor ConversationExecution {
    let runner: ConformanceRunner
    let conversation: Conversation
    let index: Int
    private var clients: [String: ClientState] = [:]
    private var captures: [String: String] = [:]
    private let matcher: FrameMatcher

    init(runner: ConformanceRunner, conversation: Conversation, index: Int) {
        self.runner = runner
        self.conversation = conversation
        self.index = index
        for spec in conversation.clients { clients[spec.name] = ClientState(spec: spec) }
        matcher = FrameMatcher(contentField: runner.configuration.profile.destinations.contentField)
    }

    /// Runs the script with a hard limit; returns the failure, or nil when every step held.
    func runWithTimeout(seconds: Double) async -> FailureDetail? {
        let result = await withTaskGroup(of: FailureDetail?.self) { group in
            group.addTask { await self.runScript() }
            group.addTask {
                try? await Task.sleep(for: .seconds(seconds))
                if Task.isCancelled { return nil }
                return FailureDetail(
                    step: "-", line: 0, client: nil, action: "conversation",
                    message: "conversation did not finish within \(Int(seconds)) s")
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        await closeAll()
        return result
    }

    private func runScript() async -> FailureDetail? {
        do {
            // Provision every account first so variables such as ${bob.user} work before bob connects.
            for spec in conversation.clients {
                guard let client = clients[spec.name] else { continue }
                switch spec.credentials {
                case .profileDefault, .token:
                    let context = StepContext(position: "0", line: 0, client: spec.name, action: "provision credentials")
                    _ = try await credentials(of: client, context)
                case .none, .login:
                    break
                }
            }
            for (offset, step) in conversation.steps.enumerated() {
                try await perform(step, position: "\(offset + 1)")
            }
            return nil
        } catch let failure as StepFailure {
            return failure.detail
        } catch {
            return FailureDetail(step: "-", line: 0, client: nil, action: "conversation", message: "\(error)")
        }
    }

    private func closeAll() async {
        for client in clients.values {
            await client.wire?.close()
        }
    }

    // MARK: - Steps

    private func perform(_ step: Step, position: String) async throws {
        switch step {
        case .sleep(let seconds, _):
            try? await Task.sleep(for: .seconds(seconds))
        case .parallel(let steps, _):
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (offset, nested) in steps.enumerated() {
                    group.addTask { try await self.perform(nested, position: "\(position).\(offset + 1)") }
                }
                try await group.waitForAll()
            }
        case .client(let name, let action, let line):
            guard let client = clients[name] else { return }
            let context = StepContext(position: position, line: line, client: name, action: action.summary)
            try await perform(action, client: client, context: context)
        }
    }

    struct StepContext {
        var position: String
        var line: Int
        var client: String
        var action: String
    }

    private func fail(_ context: StepContext, _ message: String, expected: String? = nil, received: [String] = [])
        -> StepFailure
    {
        StepFailure(
            detail: FailureDetail(
                step: context.position, line: context.line, client: context.client, action: context.action,
                message: message, expected: expected, received: received))
    }

    private func perform(_ action: ClientAction, client: ClientState, context: StepContext) async throws {
        switch action {
        case .connect(let options):
            try await connect(client, options: options, context: context)
        case .subscribe(let destination, let id, let ack, let receipt, let headers):
            var frame = StompFrame(.subscribe)
            frame.headers.add("destination", try resolve(destination, client, context))
            if let id {
                let resolvedID =
                    id == "${auto.subscription}" ? "sub-\(client.subscriptionCount)" : try resolve(id, client, context)
                frame.headers.add("id", resolvedID)
                client.lastSubscription = resolvedID
            }
            client.subscriptionCount += 1
            if let ack { frame.headers.add("ack", ack) }
            if let receipt { frame.headers.add("receipt", try resolve(receipt, client, context)) }
            for header in headers { frame.headers.add(try resolve(header.name, client, context), try resolve(header.value, client, context)) }
            try await send(frame, client, context)
        case .unsubscribe(let id, let receipt):
            var frame = StompFrame(.unsubscribe)
            frame.headers.add("id", try resolve(id, client, context))
            if let receipt { frame.headers.add("receipt", try resolve(receipt, client, context)) }
            try await send(frame, client, context)
        case .send(let destination, let body, let headers, let receipt, let bodySize):
            var text = try resolve(body, client, context)
            if bodySize > 0 { text += String(repeating: "x", count: bodySize) }
            var frame = StompFrame(.send, body: text)
            frame.headers.add("destination", try resolve(destination, client, context))
            for header in headers { frame.headers.add(try resolve(header.name, client, context), try resolve(header.value, client, context)) }
            if let receipt { frame.headers.add("receipt", try resolve(receipt, client, context)) }
            try await send(frame, client, context)
        case .say(let room, let content, let receipt):
            let sender = try await userID(of: client, context)
            let rendered = runner.configuration.profile.destinations.roomMessage(
                room: roomID(try resolve(room, client, context)), from: sender, content: try resolve(content, client, context))
            try await send(rendered, receipt: receipt, client, context)
        case .directMessage(let to, let content, let receipt):
            guard let receiver = clients[to] else { throw fail(context, "dm: unknown client \(to)") }
            let sender = try await userID(of: client, context)
            let receiverID = try await userID(of: receiver, context)
            let rendered = runner.configuration.profile.destinations.directMessage(
                to: receiverID, from: sender, content: try resolve(content, client, context),
                room: roomID("direct"))
            try await send(rendered, receipt: receipt, client, context)
        case .acknowledge(let nack, let id, let subscription, let receipt):
            var frame = StompFrame(nack ? .nack : .ack)
            let resolvedID = try resolve(id, client, context)
            if client.version == .v1_2 {
                frame.headers.add("id", resolvedID)
            } else {
                frame.headers.add("message-id", resolvedID)
                if let sub = try subscription.map({ try resolve($0, client, context) }) ?? client.lastSubscription {
                    frame.headers.add("subscription", sub)
                }
            }
            if let receipt { frame.headers.add("receipt", try resolve(receipt, client, context)) }
            try await send(frame, client, context)
        case .disconnect(let receipt):
            var frame = StompFrame(.disconnect)
            if let receipt { frame.headers.add("receipt", try resolve(receipt, client, context)) }
            try await send(frame, client, context)
        case .frame(let command, let headers, let body):
            var frame = StompFrame(StompCommand(rawValue: command), body: try resolve(body, client, context))
            for header in headers { frame.headers.add(try resolve(header.name, client, context), try resolve(header.value, client, context)) }
            try await send(frame, client, context)
        case .raw(let bytes):
            let resolved = Array(try resolve(String(decoding: bytes, as: UTF8.self), client, context).utf8)
            try await sendRaw(bytes.contains(0x24) ? resolved : bytes, client, context)
        case .rawFixture(let name):
            let file = runner.configuration.fixturesDirectory.appendingPathComponent("frames/\(name).stomp")
            guard let data = FileManager.default.contents(atPath: file.path) else {
                throw fail(context, "frame fixture \(name) not found at \(file.path)")
            }
            try await sendRaw(Array(data), client, context)
        case .heartBeat:
            try await sendRaw([StompEncoder.heartBeat], client, context)
        case .abort:
            await client.wire?.close()
        case .expect(let expectation):
            _ = try await expect(expectation, client, context)
        case .expectAnyOrder(let expectations):
            try await expectAnyOrder(expectations, client, context)
        case .expectNothing(let wait):
            let seconds = try self.seconds(wait, client, context)
            let deadline = ContinuousClock.now + .seconds(seconds)
            if let event = await client.inbox.next(until: deadline) {
                throw fail(
                    context, "expected nothing within \(format(seconds)), but received \(eventName(event))",
                    expected: "nothing", received: [render(event, client)])
            }
        case .expectClosed(let wait, let allowing):
            let seconds = try self.seconds(wait, client, context) * timeScale
            let deadline = ContinuousClock.now + .seconds(seconds)
            var skipped: [String] = []
            while true {
                guard let event = await client.inbox.next(until: deadline) else {
                    throw fail(
                        context, "connection still open after \(format(seconds))", expected: "connection closed",
                        received: skipped)
                }
                if case .frame(let frame) = event, allowing.contains(frame.command.rawValue) {
                    skipped.append(render(event, client))
                    continue
                }
                guard case .closed = event else {
                    throw fail(
                        context, "expected the connection to close, but received \(eventName(event))",
                        expected: "connection closed", received: skipped + [render(event, client)])
                }
                break
            }
        case .expectHeartBeat(let wait):
            let seconds = try self.seconds(wait, client, context) * timeScale
            let deadline = ContinuousClock.now + .seconds(seconds)
            guard let event = await client.inbox.next(until: deadline, includeHeartBeats: true) else {
                throw fail(context, "no heart-beat within \(format(seconds))", expected: "heart-beat (EOL)")
            }
            guard case .heartBeat = event else {
                throw fail(
                    context, "expected a heart-beat, received \(eventName(event))", expected: "heart-beat (EOL)",
                    received: [render(event, client)])
            }
        }
    }

    // MARK: - Connect

    private func connect(_ client: ClientState, options: ConnectOptions, context: StepContext) async throws {
        try await ensureOpen(client, context)
        var frame = StompFrame(StompCommand(rawValue: options.command))
        let profile = runner.configuration.profile
        if !options.omitAcceptVersion {
            frame.headers.add("accept-version", try resolve(options.acceptVersion ?? profile.connection.acceptVersion, client, context))
        }
        frame.headers.add("host", try options.host.map { try resolve($0, client, context) } ?? profile.connection.hostHeader ?? runner.endpoint.host)
        let heartBeat = options.heartBeat ?? "0,0"
        frame.headers.add("heart-beat", heartBeat)
        client.requestedHeartBeat = StompHeartBeat(header: heartBeat) ?? StompHeartBeat(send: 0, receive: 0)
        if options.authenticate {
            for header in try await authenticationHeaders(for: client, context) {
                frame.headers.add(header.name, header.value)
            }
        }
        for header in options.headers { frame.headers.add(try resolve(header.name, client, context), try resolve(header.value, client, context)) }
        if options.padding > 0 { frame.headers.add("x-padding", String(repeating: "p", count: options.padding)) }
        try await send(frame, client, context)
        guard options.awaitConnected else { return }
        _ = try await expect(FrameExpectation(command: "CONNECTED"), client, context)
    }

    /// Remembers what CONNECTED said (version, session, user-name, heart-beats), whichever step matched it.
    private func recordConnected(_ connected: StompFrame, _ client: ClientState) async {
        var recorded: [String: String] = [:]
        for (name, value) in connected.headers where recorded[name] == nil { recorded[name] = value }
        recordHeartBeats(client, connected: recorded)
        client.connectedHeaders = recorded
        client.version = recorded["version"].flatMap(StompVersion.init(rawValue:)) ?? .v1_0
        await client.wire?.setVersion(client.version)
    }

    private func recordHeartBeats(_ client: ClientState, connected: [String: String]) {
        let server = connected["heart-beat"].flatMap(StompHeartBeat.init(header:)) ?? StompHeartBeat(send: 0, receive: 0)
        client.negotiatedHeartBeat = StompHeartBeat.negotiate(local: client.requestedHeartBeat, remote: server)
    }

    /// The run's ``ConformanceRunner/Configuration/timeScale`` for waits on something to happen.
    private var timeScale: Double { runner.configuration.timeScale }

    /// Seconds for a wait; heart-beat-relative waits need a negotiated (non-zero) interval.
    private func seconds(_ wait: WaitTime, _ client: ClientState, _ context: StepContext) throws -> Double {
        switch wait {
        case .seconds(let seconds):
            return seconds
        case .serverHeartBeats(let factor):
            guard client.negotiatedHeartBeat.incoming > 0 else {
                throw fail(context, "no server heart-beats were negotiated (CONNECTED heart-beat \(client.connectedHeaders["heart-beat"] ?? "absent"))")
            }
            return factor * Double(client.negotiatedHeartBeat.incoming) / 1000
        case .clientHeartBeats(let factor):
            guard client.negotiatedHeartBeat.outgoing > 0 else {
                throw fail(context, "no client heart-beats were negotiated (CONNECTED heart-beat \(client.connectedHeaders["heart-beat"] ?? "absent"))")
            }
            return factor * Double(client.negotiatedHeartBeat.outgoing) / 1000
        }
    }

    private func authenticationHeaders(for client: ClientState, _ context: StepContext) async throws
        -> [ClientCredentials.Header]
    {
        let profile = runner.configuration.profile
        switch client.spec.credentials {
        case .none:
            return []
        case .login(let login, let passcode):
            return [.init("login", login), .init("passcode", passcode)]
        case .profileDefault:
            return try await credentials(of: client, context).connectHeaders
        case .token(let kind):
            let credentials = try await credentials(of: client, context)
            let bearer = profile.auth.bearer ?? BearerSettings()
            let token: String
            switch kind {
            case .access:
                guard let access = credentials.accessToken else { throw fail(context, "profile issues no access tokens") }
                token = access
            case .refresh:
                guard let refresh = credentials.refreshToken else {
                    throw fail(context, "the account API returned no refresh token")
                }
                token = refresh
            case .expired:
                let subject = try await userID(of: client, context)
                guard let expired = runner.tokens.expiredAccessToken(subject: subject) else {
                    throw fail(context, "expired tokens need the server secret (token-minting)")
                }
                token = expired
            case .forged:
                let subject = try await userID(of: client, context)
                token = runner.tokens.forgedAccessToken(subject: subject)
            case .algNone:
                let subject = try await userID(of: client, context)
                token = runner.tokens.unsignedToken(subject: subject)
            case .garbage:
                token = TokenFactory.garbageToken
            case .empty:
                token = ""
            }
            let header = bearer.header(for: token)
            return [.init(header.name, header.value)]
        }
    }

    /// The user id of `client`'s credentials (provisioning them first if needed).
    private func userID(of client: ClientState, _ context: StepContext) async throws -> String {
        // CredentialProvider derives a user id for every profile user; nil would be credentials made elsewhere.
        guard let userID = try await credentials(of: client, context).userID else {
            throw fail(context, "the profile gives \(client.spec.user) no user id")
        }
        return userID
    }

    private func credentials(of client: ClientState, _ context: StepContext) async throws -> ClientCredentials {
        if let cached = client.credentials { return cached }
        // Sessions of the same logical user share an account; users are unique per conversation.
        if let sibling = clients.values.first(where: { $0.spec.user == client.spec.user && $0.credentials != nil }),
            let shared = sibling.credentials
        {
            client.credentials = shared
            return shared
        }
        do {
            let user = Self.sanitize(client.spec.user) + "c\(index)"
            let result = try await runner.credentials.credentials(for: user)
            client.credentials = result
            for other in clients.values where other.spec.user == client.spec.user { other.credentials = result }
            return result
        } catch {
            throw fail(context, "cannot obtain credentials for \(client.spec.user): \(error)")
        }
    }

    private static func sanitize(_ name: String) -> String {
        String(name.unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) && $0.isASCII }.map(Character.init))
    }

    // MARK: - Sending

    private func ensureOpen(_ client: ClientState, _ context: StepContext) async throws {
        if client.wire != nil { return }
        do {
            let inbox = client.inbox
            let wire = try await runner.endpoint.open(
                profile: runner.configuration.profile, inbox: inbox, timeout: conversation.defaultTimeout * timeScale)
            client.wire = wire
        } catch {
            throw fail(context, "\(error)")
        }
    }

    private func send(_ frame: StompFrame, _ client: ClientState, _ context: StepContext) async throws {
        try await ensureOpen(client, context)
        do {
            try await client.wire?.send(frame)
        } catch {
            throw fail(
                context, "sending \(frame.command.rawValue) failed: \(error)",
                received: await client.inbox.sinceMark().map { render($0, client) })
        }
    }

    private func send(_ rendered: RenderedSend, receipt: String?, _ client: ClientState, _ context: StepContext) async throws {
        var frame = StompFrame(.send, body: rendered.body)
        frame.headers.add("destination", rendered.destination)
        for (name, value) in rendered.headers { frame.headers.add(name, value) }
        if let receipt { frame.headers.add("receipt", try resolve(receipt, client, context)) }
        try await send(frame, client, context)
    }

    private func sendRaw(_ bytes: [UInt8], _ client: ClientState, _ context: StepContext) async throws {
        try await ensureOpen(client, context)
        do {
            try await client.wire?.sendRaw(bytes)
        } catch {
            throw fail(context, "sending raw bytes failed: \(error)")
        }
    }

    // MARK: - Expectations

    private func resolved(_ expectation: FrameExpectation, _ client: ClientState, _ context: StepContext) throws
        -> FrameExpectation
    {
        var result = expectation
        result.headers = try expectation.headers.map { HeaderMatch($0.name, try $0.matcher.mapPattern { try resolve($0, client, context) }) }
        result.body = try expectation.body?.mapPattern { try resolve($0, client, context) }
        result.content = try expectation.content?.mapPattern { try resolve($0, client, context) }
        result.json = try expectation.json.map { JSONFieldMatch($0.path, try $0.matcher.mapPattern { try resolve($0, client, context) }) }
        return result
    }

    private func expect(_ raw: FrameExpectation, _ client: ClientState, _ context: StepContext) async throws -> StompFrame {
        let expectation = try resolved(raw, client, context)
        let seconds = (expectation.within ?? conversation.defaultTimeout) * timeScale
        let deadline = ContinuousClock.now + .seconds(seconds)
        guard let event = await client.inbox.next(until: deadline) else {
            throw fail(
                context, "no \(expectation.command) within \(format(seconds))", expected: expectation.summary,
                received: await client.inbox.sinceMark().map { render($0, client) })
        }
        switch event {
        case .closed(let how):
            throw fail(
                context, "connection closed (\(how)) while waiting for \(expectation.command)",
                expected: expectation.summary, received: await client.inbox.sinceMark().map { render($0, client) })
        case .heartBeat:
            throw fail(context, "internal: heart-beat surfaced", expected: expectation.summary)
        case .frame(let frame):
            let problems = matcher.mismatches(frame, against: expectation)
            if !problems.isEmpty {
                throw fail(
                    context, problems.joined(separator: "; "), expected: expectation.summary,
                    received: [render(event, client)])
            }
            try capture(expectation.captures, from: frame, context)
            if frame.command == .connected { await recordConnected(frame, client) }
            await client.inbox.setMark()
            return frame
        }
    }

    private func expectAnyOrder(_ raw: [FrameExpectation], _ client: ClientState, _ context: StepContext) async throws {
        var remaining = try raw.map { try resolved($0, client, context) }
        let seconds = (remaining.compactMap(\.within).max() ?? conversation.defaultTimeout) * timeScale
        let deadline = ContinuousClock.now + .seconds(seconds)
        var received: [String] = []
        while !remaining.isEmpty {
            guard let event = await client.inbox.next(until: deadline) else {
                throw fail(
                    context, "\(remaining.count) of \(raw.count) expected frames missing after \(format(seconds))",
                    expected: remaining.map(\.summary).joined(separator: "\n--\n"), received: received)
            }
            received.append(render(event, client))
            guard case .frame(let frame) = event else {
                throw fail(
                    context, "connection closed with \(remaining.count) expected frames missing",
                    expected: remaining.map(\.summary).joined(separator: "\n--\n"), received: received)
            }
            guard let position = remaining.firstIndex(where: { matcher.mismatches(frame, against: $0).isEmpty }) else {
                throw fail(
                    context, "received a frame that matches none of the remaining expectations",
                    expected: remaining.map(\.summary).joined(separator: "\n--\n"), received: received)
            }
            try capture(remaining[position].captures, from: frame, context)
            remaining.remove(at: position)
        }
        await client.inbox.setMark()
    }

    private func capture(_ list: [Capture], from frame: StompFrame, _ context: StepContext) throws {
        for capture in list {
            let value: String?
            switch capture.source {
            case .header(let name): value = frame.headers[name]
            case .body: value = frame.bodyString
            case .jsonField(let path): value = (try? JSONValue(text: frame.bodyString))?[path: path]?.textValue
            }
            guard let value else {
                throw fail(context, "cannot capture \(capture.name): \(capture.source) missing in \(frame.command.rawValue)")
            }
            captures[capture.name] = value
        }
    }

    // MARK: - Variables

    private func roomID(_ name: String) -> String { "\(name)\(runner.configuration.runID)c\(index)" }

    private func unique(_ name: String) -> String { "\(name)-\(runner.configuration.runID)-c\(index)" }

    /// Replaces every `${…}` in `text`. Client-relative variables use `client`.
    private func resolve(_ text: String, _ client: ClientState, _ context: StepContext) throws -> String {
        guard text.contains("${") else { return text }
        var output = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            output += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                throw fail(context, "unterminated variable in \(text)")
            }
            let name = String(rest[start.upperBound..<end])
            output += try value(of: name, client, context)
            rest = rest[rest.index(after: end)...]
        }
        output += rest
        return output
    }

    private func value(of name: String, _ client: ClientState, _ context: StepContext) throws -> String {
        let destinations = runner.configuration.profile.destinations
        func other(_ clientName: String) throws -> ClientState {
            guard let other = clients[clientName] else { throw fail(context, "unknown client '\(clientName)' in ${\(name)}") }
            return other
        }
        func userID(_ state: ClientState) throws -> String {
            guard let credentials = state.credentials else {
                throw fail(context, "${\(name)}: \(state.spec.name) has no credentials yet (connect it first)")
            }
            guard let userID = credentials.userID else { throw fail(context, "${\(name)}: the profile gives no user id") }
            return userID
        }
        if let colon = name.firstIndex(of: ":") {
            let kind = String(name[..<colon])
            let argument = String(name[name.index(after: colon)...])
            switch kind {
            case "room": return destinations.room(roomID(argument))
            case "roomId": return roomID(argument)
            case "topic": return destinations.topic(unique(argument))
            case "queue": return destinations.queue(unique(argument))
            case "userQueue": return destinations.userQueue(of: try userID(try other(argument)))
            case "otherUserQueue":
                guard let destination = destinations.otherUserQueue(of: try userID(try other(argument))) else {
                    throw fail(context, "profile has no other_user_queue for ${\(name)}")
                }
                return destination
            case "dmTo":
                return destinations.directMessage(to: try userID(try other(argument)), from: "", content: "").destination
            default:
                throw fail(context, "unknown variable ${\(name)}")
            }
        }
        if name == "userQueue" { return destinations.userQueue(of: try userID(client)) }
        if name == "run" { return runner.configuration.runID }
        if name == "uuid" { return UUID().uuidString.lowercased() }
        let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw fail(context, "unknown variable ${\(name)}") }
        switch parts[0] {
        case "capture":
            guard let value = captures[parts[1]] else {
                throw fail(context, "${\(name)} was not captured by an earlier expect")
            }
            return value
        case "unique":
            return unique(parts[1])
        default:
            let state = try other(parts[0])
            switch parts[1] {
            case "user": return try userID(state)
            case "token":
                guard let token = state.credentials?.accessToken else {
                    throw fail(context, "${\(name)}: the profile issues no access tokens")
                }
                return token
            case "login":
                guard let login = state.credentials?.login else { throw fail(context, "${\(name)}: no credentials yet") }
                return login
            default:
                guard let value = state.connectedHeaders[parts[1]] else {
                    throw fail(context, "${\(name)}: CONNECTED of \(parts[0]) had no \(parts[1]) header")
                }
                return value
            }
        }
    }

    // MARK: - Rendering

    private func render(_ event: InboundEvent, _ client: ClientState) -> String {
        switch event {
        case .frame(let frame): return WireText.render(frame, version: client.version)
        case .heartBeat: return "(heart-beat EOL)"
        case .closed(let how): return "(connection closed: \(how))"
        }
    }

    private func eventName(_ event: InboundEvent) -> String {
        switch event {
        case .frame(let frame): return frame.command.rawValue
        case .heartBeat: return "a heart-beat"
        case .closed: return "a close"
        }
    }

    private func format(_ seconds: Double) -> String {
        seconds < 1 ? "\(Int((seconds * 1000).rounded())) ms" : String(format: "%.1f s", seconds)
    }
}

extension WaitTime {
    var summary: String {
        switch self {
        case .seconds(let seconds): return "\(seconds) s"
        case .serverHeartBeats(let factor): return "\(factor) server heart-beat intervals"
        case .clientHeartBeats(let factor): return "\(factor) client heart-beat intervals"
        }
    }
}

extension ClientAction {
    /// One-line description for reports.
    var summary: String {
        switch self {
        case .connect(let options): return "\(options.command.lowercased())"
        case .subscribe(let destination, let id, _, _, _): return "subscribe \(destination)\(id.map { " id=\($0)" } ?? " (no id)")"
        case .unsubscribe(let id, _): return "unsubscribe \(id)"
        case .send(let destination, _, _, _, _): return "send \(destination)"
        case .say(let room, _, _): return "say in room \(room)"
        case .directMessage(let to, _, _): return "dm to \(to)"
        case .acknowledge(let nack, let id, _, _): return "\(nack ? "nack" : "ack") \(id)"
        case .disconnect: return "disconnect"
        case .frame(let command, _, _): return "frame \(command)"
        case .raw(let bytes): return "raw \(bytes.count) bytes"
        case .rawFixture(let name): return "raw_fixture \(name)"
        case .heartBeat: return "heart-beat"
        case .abort: return "abort connection"
        case .expect(let expectation): return "expect \(expectation.command)"
        case .expectAnyOrder(let list): return "expect any order (\(list.map(\.command).joined(separator: ", ")))"
        case .expectNothing(let wait): return "expect nothing for \(wait.summary)"
        case .expectClosed(let wait, _): return "expect closed within \(wait.summary)"
        case .expectHeartBeat(let wait): return "expect heart-beat within \(wait.summary)"
        }
    }
}
