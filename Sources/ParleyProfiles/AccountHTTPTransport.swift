import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The HTTP/1.1 side of ``AccountAPIClient``: one connection per request, JSON bodies, `http://` only.
///
/// The kit needs a handful of sign-ups and logins per run, so a connection per request keeps this small; NIO
/// rather than URLSession because FoundationNetworking is not available everywhere the kit runs.
struct AccountHTTPTransport: Sendable {
    /// Status and body of one response.
    struct Response: Sendable, Hashable {
        /// HTTP status code.
        var status: Int
        /// Raw body bytes.
        var body: [UInt8]
    }

    /// Host of the account API.
    let host: String
    /// Port of the account API.
    let port: Int
    /// Bound on each request (connect + response).
    let timeout: Duration

    /// Takes host and port from `http://host[:port][/…]`; the path is the caller's to resolve.
    init(baseURL: URL, timeout: Duration) throws(AccountHTTPError) {
        guard baseURL.scheme?.lowercased() == "http" else {
            throw .invalidURL(baseURL.absoluteString, "only http:// URLs are supported")
        }
        var host = Substring(baseURL.host ?? "")
        // An IPv6 literal may keep its brackets depending on the Foundation version; NIO wants it bare.
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty else { throw .invalidURL(baseURL.absoluteString, "missing host") }
        let port = baseURL.port ?? 80
        guard (1...65535).contains(port) else { throw .invalidURL(baseURL.absoluteString, "invalid port") }
        self.host = String(host)
        self.port = port
        self.timeout = timeout
    }

    /// Sends one request whose method comes as text (from a server profile); the method must be an upper-case
    /// token, so a profile cannot smuggle anything into the request line.
    func request(method: String, path: String, body: [UInt8]? = nil) async throws -> Response {
        guard !method.isEmpty, method.utf8.allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) else {
            throw AccountHTTPError.invalidRequest("HTTP method '\(method)' is not an upper-case token")
        }
        let method = HTTPMethod(rawValue: method)
        let promise = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: Response.self)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: promise.futureResult.eventLoop)
                .connectTimeout(TimeAmount(timeout))
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
            throw AccountHTTPError.connectFailed("\(host):\(port)", String(describing: error))
        }
        let timer = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            promise.fail(AccountHTTPError.timedOut("\(method) \(path)"))
            channel.close(promise: nil)
        }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "\(host):\(port)")
        headers.add(name: "Connection", value: "close")
        headers.add(name: "Accept", value: "application/json")
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

/// Why an HTTP exchange with the account API failed (``AccountAPIClient`` reports it inside an ``AccountAPIError``).
enum AccountHTTPError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The base URL cannot be used.
    case invalidURL(String, String)
    /// TCP connect failed.
    case connectFailed(String, String)
    /// The request cannot be sent as described.
    case invalidRequest(String)
    /// The response is not HTTP, or too large.
    case invalidResponse(String)
    /// No complete response in time.
    case timedOut(String)
    /// The server closed before a complete response.
    case incompleteResponse

    var description: String {
        switch self {
        case .invalidURL(let url, let reason): "invalid account API URL '\(url)': \(reason)"
        case .connectFailed(let address, let reason): "cannot connect to the account API at \(address): \(reason)"
        case .invalidRequest(let reason): "invalid account API request: \(reason)"
        case .invalidResponse(let text): "unexpected account API response: \(text)"
        case .timedOut(let what): "account API request timed out: \(what)"
        case .incompleteResponse: "account API closed the connection before a complete response"
        }
    }
}

/// Collects one HTTP response into a promise.
private final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<AccountHTTPTransport.Response>
    private var status = 0
    private var body: [UInt8] = []

    init(promise: EventLoopPromise<AccountHTTPTransport.Response>) {
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
        case .body(let buffer):
            guard body.count + buffer.readableBytes <= 8 << 20 else {
                promise.fail(AccountHTTPError.invalidResponse("response body over 8 MiB"))
                context.close(promise: nil)
                return
            }
            body.append(contentsOf: buffer.readableBytesView)
        case .end:
            promise.succeed(AccountHTTPTransport.Response(status: status, body: body))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(AccountHTTPError.invalidResponse(String(describing: error)))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(AccountHTTPError.incompleteResponse)
        context.fireChannelInactive()
    }
}
