import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A small HTTP/1.1 JSON client for Parley's account API (`POST /auth/signup`, `POST /auth/login`), used to
/// obtain bearer tokens for STOMP sessions in load runs and conformance runs. One connection per request.
public struct ParleyAccountClient: Sendable {
    /// Access and refresh token from `tokenResponse` of a login.
    public struct Tokens: Sendable, Hashable, Codable {
        /// The JWT to send as `Authorization: Bearer …` in CONNECT.
        public var accessToken: String
        /// The refresh token (unused by the load generator).
        public var refreshToken: String?
    }

    /// Status and body of an HTTP response.
    public struct Response: Sendable, Hashable {
        /// HTTP status code.
        public var status: Int
        /// Raw body bytes.
        public var body: [UInt8]
        /// Body as UTF-8 text.
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Host of the account API.
    public let host: String
    /// Port of the account API.
    public let port: Int
    /// Bound on each request (connect + response).
    public var timeout: Duration

    /// Parses `http://host:port` (https is not supported).
    public init(baseURL: String, timeout: Duration = .seconds(10)) throws(ParleyAccountError) {
        var rest = Substring(baseURL.trimmingWhitespace())
        guard rest.lowercased().hasPrefix("http://") else {
            throw ParleyAccountError.invalidURL(baseURL, "only http:// URLs are supported")
        }
        rest = rest.dropFirst("http://".count)
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        var host = rest
        var port = 80
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            host = rest[..<colon]
            guard let parsed = Int(rest[rest.index(after: colon)...]), (1...65535).contains(parsed) else {
                throw ParleyAccountError.invalidURL(baseURL, "invalid port")
            }
            port = parsed
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty else { throw ParleyAccountError.invalidURL(baseURL, "missing host") }
        self.host = String(host)
        self.port = port
        self.timeout = timeout
    }

    /// `POST /auth/signup`; returns the response (201 created, 409 when the loginId exists).
    public func signup(loginId: String, username: String, password: String) async throws -> Response {
        try await postJSON("/auth/signup", ["loginId": loginId, "username": username, "password": password])
    }

    /// `POST /auth/login` → `tokenResponse`.
    public func login(loginId: String, password: String) async throws -> Tokens {
        let response = try await postJSON("/auth/login", ["loginId": loginId, "password": password])
        guard response.status == 200 else { throw ParleyAccountError.status(response.status, response.text) }
        struct LoginBody: Decodable { var tokenResponse: Tokens }
        do {
            return try JSONDecoder().decode(LoginBody.self, from: Data(response.body)).tokenResponse
        } catch {
            throw ParleyAccountError.invalidResponse("login response has no tokenResponse.accessToken: \(response.text.prefix(200))")
        }
    }

    /// Signs up (an existing account, 409, is fine) and logs in.
    public func signupAndLogin(loginId: String, username: String, password: String) async throws -> Tokens {
        let signup = try await signup(loginId: loginId, username: username, password: password)
        guard signup.status == 201 || signup.status == 200 || signup.status == 409 else {
            throw ParleyAccountError.status(signup.status, signup.text)
        }
        return try await login(loginId: loginId, password: password)
    }

    /// POSTs a JSON object of strings.
    public func postJSON(_ path: String, _ object: [String: String], bearerToken: String? = nil) async throws -> Response {
        let body = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return try await request(method: .POST, path: path, body: Array(body), bearerToken: bearerToken)
    }

    /// Sends one request whose method is given as text (e.g. from a server profile); the method must be a
    /// token (letters only), so a profile cannot smuggle anything into the request line.
    public func request(method: String, path: String, body: [UInt8]? = nil, bearerToken: String? = nil) async throws -> Response {
        guard !method.isEmpty, method.utf8.allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) else {
            throw ParleyAccountError.invalidRequest("HTTP method '\(method)' is not an upper-case token")
        }
        return try await request(method: HTTPMethod(rawValue: method), path: path, body: body, bearerToken: bearerToken)
    }

    /// Sends one request with an optional JSON body and returns status and body.
    public func request(method: HTTPMethod, path: String, body: [UInt8]? = nil, bearerToken: String? = nil) async throws -> Response {
        let promise = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: Response.self)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: promise.futureResult.eventLoop)
                .connectTimeout(.nanoseconds(timeout.nanoseconds))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise))
                    }
                }
                .connect(host: host, port: port)
                .get()
        } catch {
            promise.fail(error)
            throw ParleyAccountError.connectFailed("\(host):\(port)", String(describing: error))
        }
        let timer = channel.eventLoop.scheduleTask(in: .nanoseconds(timeout.nanoseconds)) {
            promise.fail(ParleyAccountError.timedOut("\(method) \(path)"))
            channel.close(promise: nil)
        }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "\(host):\(port)")
        headers.add(name: "Connection", value: "close")
        headers.add(name: "Accept", value: "application/json")
        if let bearerToken { headers.add(name: "Authorization", value: "Bearer \(bearerToken)") }
        if let body {
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: "\(body.count)")
        }
        channel.write(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)), promise: nil)
        if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil) }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        defer {
            timer.cancel()
            channel.close(promise: nil)
        }
        return try await promise.futureResult.get()
    }
}

/// Failures talking to the account API.
public enum ParleyAccountError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The base URL cannot be used.
    case invalidURL(String, String)
    /// TCP connect failed.
    case connectFailed(String, String)
    /// The request cannot be sent as described.
    case invalidRequest(String)
    /// The server answered with an unexpected status (and this body).
    case status(Int, String)
    /// The body is not what the API documents.
    case invalidResponse(String)
    /// No complete response in time.
    case timedOut(String)
    /// The server closed before a complete response.
    case incompleteResponse

    /// Human-readable text.
    public var description: String {
        switch self {
        case .invalidURL(let url, let reason): "invalid account API URL '\(url)': \(reason)"
        case .connectFailed(let address, let reason): "cannot connect to the account API at \(address): \(reason)"
        case .invalidRequest(let reason): "invalid account API request: \(reason)"
        case .status(let status, let body): "account API answered HTTP \(status): \(body.prefix(300))"
        case .invalidResponse(let text): "unexpected account API response: \(text)"
        case .timedOut(let what): "account API request timed out: \(what)"
        case .incompleteResponse: "account API closed the connection before a complete response"
        }
    }
}

/// Collects one HTTP response into a promise.
private final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<ParleyAccountClient.Response>
    private var status = 0
    private var body: [UInt8] = []

    init(promise: EventLoopPromise<ParleyAccountClient.Response>) {
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
        case .body(let buffer):
            guard body.count + buffer.readableBytes <= 8 << 20 else {
                promise.fail(ParleyAccountError.invalidResponse("response body over 8 MiB"))
                context.close(promise: nil)
                return
            }
            body.append(contentsOf: buffer.readableBytesView)
        case .end:
            promise.succeed(ParleyAccountClient.Response(status: status, body: body))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(ParleyAccountError.invalidResponse(String(describing: error)))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ParleyAccountError.incompleteResponse)
        context.fireChannelInactive()
    }
}
