import Foundation
import ParleyAccounts
import ParleyApp
import ServiceLifecycle
import UnixSignals
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

@Suite("parley serve (account role)", .timeLimit(.minutes(1)))
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

    @Test("a short PARLEY_JWT_SECRET stops startup with a clear error")
    func shortSecret() async throws {
        do {
            try await ParleyServe.run(
                configuration: .init(dataDirectory: NSTemporaryDirectory() + UUID().uuidString, accountPort: 0),
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
        let configuration = ServeConfiguration(dataDirectory: directory, accountPort: 0, bcryptCost: 4)

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

    /// Starts `ParleyServe.run`, runs `body`, then stops it with a real signal (SIGUSR2 stands in for SIGTERM so
    /// nothing else in the test process is disturbed) and waits for a clean exit.
    @discardableResult
    func runServer<Value: Sendable>(_ configuration: ServeConfiguration, _ body: (URL) async throws -> Value) async throws -> Value {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let server = Task {
            defer { continuation.finish() }
            try await ParleyServe.run(
                configuration: configuration, environment: [:], shutdownSignals: [.sigusr2],
                onListening: { continuation.yield($0) })
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else {
            try await server.value
            throw CancellationError()
        }
        let result: Result<Value, any Error>
        do {
            result = .success(try await body(URL(string: "http://127.0.0.1:\(port)")!))
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

