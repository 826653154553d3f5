import Foundation
import ParleyAccounts
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real HTTP client (URLSession) against a server started on a random port over a temp-dir SQLite file.
struct HTTPResult: Sendable {
    var status: Int
    var headers: [String: String]
    var body: Data

    var json: [String: Any] {
        ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any]) ?? [:]
    }
    var errorCode: String? { json["error"] as? String }
    var message: String? { json["message"] as? String }
    func header(_ name: String) -> String? {
        headers.first { $0.key.lowercased() == name.lowercased() }?.value
    }
}

struct TestServer: Sendable {
    let server: RunningAccountServer
    let directory: String
    let session: URLSession

    static func start(
        configuration: AccountServerConfiguration = .init(port: 0, bcryptCost: 4)
    ) async throws -> TestServer {
        let directory = NSTemporaryDirectory() + "parley-accounts-\(UUID().uuidString)"
        let server = try await RunningAccountServer.start(dataDirectory: directory, configuration: configuration)
        let sessionConfiguration = URLSessionConfiguration.ephemeral
        sessionConfiguration.timeoutIntervalForRequest = 20
        sessionConfiguration.httpMaximumConnectionsPerHost = 16
        return TestServer(server: server, directory: directory, session: URLSession(configuration: sessionConfiguration))
    }

    func stop() async {
        session.invalidateAndCancel()
        await server.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }

    @discardableResult
    func request(
        _ method: String, _ path: String, json: [String: any Sendable]? = nil, rawBody: Data? = nil,
        bearer: String? = nil
    ) async throws -> HTTPResult {
        var request = URLRequest(url: server.baseURL.appendingPathComponent(path))
        request.httpMethod = method
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        } else if let rawBody {
            request.httpBody = rawBody
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if let bearer { request.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await session.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields { headers["\(key)"] = "\(value)" }
        return HTTPResult(status: http.statusCode, headers: headers, body: data)
    }

    func signup(_ loginId: String, password: String = "passw0rd!", username: String = "Tester") async throws -> HTTPResult {
        try await request("POST", "/auth/signup", json: ["loginId": loginId, "username": username, "password": password])
    }

    /// Logs in and returns (access, refresh).
    func login(_ loginId: String, password: String = "passw0rd!") async throws -> (String, String) {
        let result = try await request("POST", "/auth/login", json: ["loginId": loginId, "password": password])
        try #require(result.status == 200, "login failed: \(String(decoding: result.body, as: UTF8.self))")
        let tokens = try #require(result.json["tokenResponse"] as? [String: Any])
        return (try #require(tokens["accessToken"] as? String), try #require(tokens["refreshToken"] as? String))
    }
}

/// Runs `body` against a fresh server and always stops it.
func withServer(
    configuration: AccountServerConfiguration = .init(port: 0, bcryptCost: 4),
    _ body: (TestServer) async throws -> Void
) async throws {
    let server = try await TestServer.start(configuration: configuration)
    do {
        try await body(server)
    } catch {
        await server.stop()
        throw error
    }
    await server.stop()
}
