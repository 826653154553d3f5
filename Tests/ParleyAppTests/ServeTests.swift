import Foundation
import ParleyAccounts
import ParleyApp
import ParleyClient
import ParleyCodec
import ServiceLifecycle
import UnixSignals
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

@Suite("parley serve", .serialized, .timeLimit(.minutes(1)))
struct ServeTests {
    @Test("flags override environment; bad values are clear errors")
    func configuration() throws {
        let defaults = try ServeConfiguration.resolve(arguments: [], environment: [:])
        #expect(defaults == ServeConfiguration())
        #expect(defaults.accountPort == 8085 && defaults.dataDirectory == "./.data" && defaults.host == "127.0.0.1")
        let resolved = try ServeConfiguration.resolve(
            arguments: ["--account-port=9001", "--data-dir", "/tmp/x"],
            environment: ["PARLEY_ACCOUNT_PORT": "9000", "PARLEY_DATA_DIR": "/env", "PARLEY_BCRYPT_COST": "12"])
        #expect(resolved.accountPort == 9001)
        #expect(resolved.dataDirectory == "/tmp/x")
        #expect(resolved.bcryptCost == 12)
        #expect(throws: ServeConfigurationError.invalidValue(setting: "account port", value: "70000", expected: "0...65535")) {
            try ServeConfiguration.resolve(arguments: ["--account-port", "70000"], environment: [:])
        }
        #expect(throws: ServeConfigurationError.unknownFlag("--jwt-secret")) {
            try ServeConfiguration.resolve(arguments: ["--jwt-secret", "x"], environment: [:])
        }
        #expect(throws: ServeConfigurationError.invalidValue(setting: "bcrypt cost", value: "3", expected: "4...31")) {
            try ServeConfiguration.resolve(arguments: ["--bcrypt-cost=3"], environment: [:])
        }
        #expect(throws: ServeConfigurationError.missingValue(flag: "--data-dir")) {
            try ServeConfiguration.resolve(arguments: ["--data-dir"], environment: [:])
        }
    }

    @Test("roles, Kafka, node id and ports resolve from flags and environment")
    func chatSettings() throws {
        let defaults = try ServeConfiguration.resolve(arguments: [], environment: [:])
        #expect(defaults.role == .all && defaults.chatPort == 8084 && defaults.stompPort == 61613)
        #expect(defaults.kafka == nil && defaults.kafkaTopic == "chat-message" && defaults.nodeID == nil)
        let chat = try ServeConfiguration.resolve(
            arguments: ["--role", "chat", "--kafka", "127.0.0.1:9092,10.0.0.2:9093", "--node-id=n1"],
            environment: ["PARLEY_ROLE": "account", "PARLEY_STOMP_PORT": "61700", "PARLEY_KAFKA_TOPIC": "t.x"])
        #expect(chat.role == .chat && !chat.role.runsAccountAPI && chat.role.runsChat)
        #expect(chat.kafka == "127.0.0.1:9092,10.0.0.2:9093" && chat.nodeID == "n1")
        #expect(chat.stompPort == 61700 && chat.kafkaTopic == "t.x")
        #expect(throws: ServeConfigurationError.invalidValue(setting: "role", value: "both", expected: "all, account or chat")) {
            try ServeConfiguration.resolve(arguments: ["--role", "both"], environment: [:])
        }
        #expect(throws: ServeConfigurationError.self) {
            try ServeConfiguration.resolve(arguments: ["--kafka", "nohostport"], environment: [:])
        }
        #expect(throws: ServeConfigurationError.self) {
            try ServeConfiguration.resolve(arguments: ["--node-id", "bad id!"], environment: [:])
        }
        #expect(throws: ServeConfigurationError.self) {
            try ServeConfiguration.resolve(arguments: ["--kafka-partitions", "0"], environment: [:])
        }
        #expect(try ServeConfiguration.resolve(arguments: [], environment: ["PARLEY_METRICS_PORT": "9464"]).metricsPort == 9464)
    }

    @Test("the node id is generated once and kept in the data directory")
    func nodeIdentity() throws {
        let directory = NSTemporaryDirectory() + "parley-node-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try NodeIdentity.stored(in: directory)
        #expect(NodeIdentity.isValid(first))
        #expect(try NodeIdentity.stored(in: directory) == first)
        try Data("not valid!\n".utf8).write(to: URL(fileURLWithPath: directory + "/node-id"))
        #expect(throws: NodeIdentityError.self) { try NodeIdentity.stored(in: directory) }
    }

    @Test("a data directory is locked by one holder at a time, which the refusal names")
    func dataDirectoryLock() throws {
        let directory = NSTemporaryDirectory() + "parley-lock-\(UUID().uuidString)/nested"
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        let lock = try DataDirectoryLock.acquire(directory)
        #expect(FileManager.default.fileExists(atPath: directory + "/" + DataDirectoryLock.fileName))
        // flock(2) locks belong to the open file, so a second open in this process is refused like another process.
        #expect(throws: DataDirectoryLockError.held(directory: lock.directory, pid: getpid())) {
            _ = try DataDirectoryLock.acquire(directory + "/../nested/")
        }
        lock.release()
        lock.release()
        let again = try DataDirectoryLock.acquire(directory)
        again.release()
        #expect(
            "\(DataDirectoryLockError.held(directory: "/srv/parley", pid: 42))"
                == "data directory /srv/parley is in use by another parley serve (pid 42); give every node its own --data-dir")
    }

    @Test("a second serve on a data directory in use refuses to start, naming the directory and the holder")
    func secondServeOnTheSameDataDirectory() async throws {
        let directory = NSTemporaryDirectory() + "parley-serve-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = ServeConfiguration(role: .chat, dataDirectory: directory, accountPort: 0, chatPort: 0, stompPort: 0)
        try await runServer(configuration) { _, listeners in
            do {
                try await ParleyServe.run(configuration: configuration, environment: [:], shutdownSignals: [])
                Issue.record("a second server started on \(directory)")
            } catch {
                let absolute = URL(fileURLWithPath: directory).standardizedFileURL.path
                #expect("\(error)" == "data directory \(absolute) is in use by another parley serve (pid \(getpid())); give every node its own --data-dir")
            }
            // The first one still serves: it answers (and refuses) a forged token.
            let tcp = try StompEndpoint(url: "tcp://127.0.0.1:\(try #require(listeners.stompPort))")
            await #expect(throws: StompClientError.self) {
                _ = try await StompClient.connect(to: tcp, options: .init(bearerToken: "not-a-jwt"))
            }
        }
        // Released on the way out.
        try DataDirectoryLock.acquire(directory).release()
    }

    @Test("role all: a token from the account API opens a chat session and a DM arrives over both transports")
    func accountAndChatTogether() async throws {
        let directory = NSTemporaryDirectory() + "parley-serve-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = ServeConfiguration(dataDirectory: directory, accountPort: 0, chatPort: 0, stompPort: 0, bcryptCost: 4)
        try await runServer(configuration) { base, listeners in
            var tokens: [String: (id: String, token: String)] = [:]
            for user in ["alice", "bob"] {
                let signup = try await Self.post(base, "/auth/signup", ["loginId": user, "username": user, "password": "passw0rd!"])
                #expect(signup.0 == 201)
                let login = try await Self.post(base, "/auth/login", ["loginId": user, "password": "passw0rd!"])
                let pair = try #require(login.1["tokenResponse"] as? [String: Any])
                let id = try #require(signup.1["id"].map { "\($0)" })
                tokens[user] = (id, try #require(pair["accessToken"] as? String))
            }
            let alice = try #require(tokens["alice"]), bob = try #require(tokens["bob"])
            let ws = try StompEndpoint(url: "ws://127.0.0.1:\(try #require(listeners.chatPort))/ws/chat")
            let tcp = try StompEndpoint(url: "tcp://127.0.0.1:\(try #require(listeners.stompPort))")
            let bobClient = try await StompClient.connect(to: ws, options: .init(bearerToken: bob.token))
            let inbox = try await bobClient.subscribe(destination: "/user/queue/messages", receipt: true)
            let aliceClient = try await StompClient.connect(to: tcp, options: .init(bearerToken: alice.token))
            try await aliceClient.send(
                destination: "/app/chat.sendMessage",
                body: #"{"roomId":"r1","receiverId":"\#(bob.id)","content":"hi bob","messageType":"TALK"}"#, receipt: true)
            var iterator = inbox.makeAsyncIterator()
            let message = try #require(try await iterator.next())
            #expect(message.headers["destination"] == "/user/queue/messages")
            let event = try #require(try JSONSerialization.jsonObject(with: Data(message.bodyString.utf8)) as? [String: Any])
            #expect(event["senderId"] as? String == alice.id)
            #expect(event["content"] as? String == "hi bob")
            try await aliceClient.disconnect()
            try await bobClient.disconnect()
        }
    }

    @Test("role account serves no chat; role chat serves no account API")
    func separateRoles() async throws {
        let directory = NSTemporaryDirectory() + "parley-roles-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let account = ServeConfiguration(role: .account, dataDirectory: directory, accountPort: 0, chatPort: 0, stompPort: 0, bcryptCost: 4)
        try await runServer(account) { _, listeners in
            #expect(listeners.accountPort != nil && listeners.chatPort == nil && listeners.stompPort == nil)
        }
        let chat = ServeConfiguration(role: .chat, dataDirectory: directory, accountPort: 0, chatPort: 0, stompPort: 0)
        try await runServer(chat) { _, listeners in
            #expect(listeners.accountPort == nil && listeners.chatPort != nil && listeners.stompPort != nil)
            // Nothing but a valid token gets in.
            let tcp = try StompEndpoint(url: "tcp://127.0.0.1:\(try #require(listeners.stompPort))")
            await #expect(throws: StompClientError.self) {
                _ = try await StompClient.connect(to: tcp, options: .init(bearerToken: "not-a-jwt"))
            }
        }
    }

    @Test("Prometheus /metrics: on the account API, and on --metrics-port for chat-only nodes")
    func metrics() async throws {
        let directory = NSTemporaryDirectory() + "parley-metrics-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let chat = ServeConfiguration(
            role: .chat, dataDirectory: directory, accountPort: 0, chatPort: 0, stompPort: 0, metricsPort: 0)
        try await runServer(chat) { _, listeners in
            let metricsPort = try #require(listeners.metricsPort)
            // A refused CONNECT is counted.
            let tcp = try StompEndpoint(url: "tcp://127.0.0.1:\(try #require(listeners.stompPort))")
            _ = try? await StompClient.connect(to: tcp, options: .init(bearerToken: "forged"))
            let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(metricsPort)/metrics")!)
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
            let text = String(decoding: data, as: UTF8.self)
            let line = text.split(separator: "\n").first { $0.hasPrefix("parley_chat_authentication_failures_total") }
            let count = line.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) } ?? 0
            #expect(count >= 1, "metrics text:\n\(text)")
        }
        let all = ServeConfiguration(dataDirectory: directory, accountPort: 0, chatPort: 0, stompPort: 0, bcryptCost: 4)
        try await runServer(all) { base, _ in
            let (data, _) = try await URLSession.shared.data(from: base.appendingPathComponent("/metrics"))
            #expect(String(decoding: data, as: UTF8.self).contains("parley_chat_"))
        }
    }

    @Test("a short PARLEY_JWT_SECRET stops startup with a clear error")
    func shortSecret() async throws {
        do {
            try await ParleyServe.run(
                configuration: .init(dataDirectory: NSTemporaryDirectory() + UUID().uuidString, accountPort: 0, chatPort: 0, stompPort: 0),
                environment: ["PARLEY_JWT_SECRET": "short"], shutdownSignals: [])
            Issue.record("started with a 5-byte secret")
        } catch {
            #expect("\(error)".contains("at least 32 bytes"))
            #expect(!"\(error)".contains("short"), "the secret itself is not echoed")
        }
    }

    @Test("serves until the shutdown signal; a restart keeps tokens valid")
    func serveAndRestart() async throws {
        let directory = NSTemporaryDirectory() + "parley-serve-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = ServeConfiguration(dataDirectory: directory, accountPort: 0, chatPort: 0, stompPort: 0, bcryptCost: 4)

        let accessToken = try await runServer(configuration) { base in
            let signup = try await Self.post(base, "/auth/signup", ["loginId": "serve", "username": "S", "password": "passw0rd!"])
            #expect(signup.0 == 201)
            let login = try await Self.post(base, "/auth/login", ["loginId": "serve", "password": "passw0rd!"])
            #expect(login.0 == 200)
            let tokens = try #require(login.1["tokenResponse"] as? [String: Any])
            return try #require(tokens["accessToken"] as? String)
        }
        // Same data directory: same generated secret, same SQLite file.
        try await runServer(configuration) { base in
            var request = URLRequest(url: base.appendingPathComponent("/accounts/me"))
            request.setValue("Bearer \(accessToken)", forHTTPHeaderField: "Authorization")
            let (data, response) = try await URLSession.shared.data(for: request)
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
            #expect(String(decoding: data, as: UTF8.self).contains("\"loginId\":\"serve\""))
        }
    }

    /// Starts `ParleyServe.run`, runs `body`, then stops it with a real signal (the suite is serialized because the
    /// signal reaches every server in the process; SIGUSR2 stands in for SIGTERM so
    /// nothing else in the test process is disturbed) and waits for a clean exit.
    @discardableResult
    func runServer<Value: Sendable>(_ configuration: ServeConfiguration, _ body: (URL) async throws -> Value) async throws -> Value {
        try await runServer(configuration) { base, _ in try await body(base) }
    }

    /// Like ``runServer(_:_:)`` but also hands `body` every bound port.
    @discardableResult
    func runServer<Value: Sendable>(
        _ configuration: ServeConfiguration, _ body: (URL, ServeListeners) async throws -> Value
    ) async throws -> Value {
        let (ports, continuation) = AsyncStream.makeStream(of: ServeListeners.self)
        let server = Task {
            defer { continuation.finish() }
            try await ParleyServe.run(
                configuration: configuration, environment: [:], shutdownSignals: [.sigusr2],
                onListening: { continuation.yield($0) })
        }
        var iterator = ports.makeAsyncIterator()
        guard let listeners = await iterator.next() else {
            try await server.value
            throw CancellationError()
        }
        let port = listeners.accountPort ?? 0
        let result: Result<Value, any Error>
        do {
            result = .success(try await body(URL(string: "http://127.0.0.1:\(port)")!, listeners))
        } catch {
            result = .failure(error)
        }
        kill(getpid(), SIGUSR2)
        try await server.value
        return try result.get()
    }

    static func post(_ base: URL, _ path: String, _ json: [String: String]) async throws -> (Int, [String: Any]) {
        var request = URLRequest(url: base.appendingPathComponent(path))
        request.httpMethod = "POST"
        request.httpBody = try JSONSerialization.data(withJSONObject: json)
        let (data, response) = try await URLSession.shared.data(for: request)
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, object)
    }
}

