import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import ParleyClient
import Testing

/// The account API client against a small real HTTP server speaking the documented JSON.
struct AccountAPIClientTests {
    @Test func signupThenLoginReturnsTheAccessToken() async throws {
        let server = try await FakeAccountServer.start()
        defer { Task { await server.stop() } }
        let api = try AccountAPIClient(baseURL: "http://127.0.0.1:\(server.port)")
        let tokens = try await withTimeout(10, "signup+login") {
            try await api.signupAndLogin(loginId: "alice1", username: "alice1", password: "secret-pass-1")
        }
        #expect(tokens.accessToken == "access-alice1")
        #expect(tokens.refreshToken == "refresh-alice1")
        // A second sign-up is a 409, which signupAndLogin tolerates.
        let again = try await api.signupAndLogin(loginId: "alice1", username: "alice1", password: "secret-pass-1")
        #expect(again.accessToken == "access-alice1")
        let requests = server.requests
        #expect(requests.map(\.path) == ["/auth/signup", "/auth/login", "/auth/signup", "/auth/login"])
        #expect(requests[0].json == ["loginId": "alice1", "username": "alice1", "password": "secret-pass-1"])
        #expect(requests[1].json == ["loginId": "alice1", "password": "secret-pass-1"])
    }

    @Test func wrongPasswordIsAStatusError() async throws {
        let server = try await FakeAccountServer.start()
        defer { Task { await server.stop() } }
        let api = try AccountAPIClient(baseURL: "http://127.0.0.1:\(server.port)/")
        _ = try await api.signup(loginId: "bob", username: "bob", password: "right-password")
        await #expect(throws: AccountAPIError.status(401, #"{"error":"unauthorized","message":"bad credentials"}"#)) {
            _ = try await api.login(loginId: "bob", password: "wrong")
        }
    }

    @Test func badBaseURLsAreRejected() {
        #expect(throws: AccountAPIError.self) { try AccountAPIClient(baseURL: "https://x") }
        #expect(throws: AccountAPIError.self) { try AccountAPIClient(baseURL: "http://:80") }
        #expect(throws: AccountAPIError.self) { try AccountAPIClient(baseURL: "http://h:0") }
    }
}

/// Signup stores loginId → password; login answers `{"msg", "tokenResponse": {…}}` or 401.
final class FakeAccountServer: Sendable {
    struct Request: Sendable {
        var path: String
        var json: [String: String]
    }

    let port: Int
    private let channel: any Channel
    private let log: NIOLockedValueBox<[Request]>
    var requests: [Request] { log.withLockedValue { $0 } }

    private init(channel: any Channel, log: NIOLockedValueBox<[Request]>) {
        self.channel = channel
        self.port = channel.localAddress?.port ?? 0
        self.log = log
    }

    static func start() async throws -> FakeAccountServer {
        let log = NIOLockedValueBox<[Request]>([])
        let accounts = NIOLockedValueBox<[String: String]>([:])
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(log: log, accounts: accounts))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return FakeAccountServer(channel: channel, log: log)
    }

    func stop() async { try? await channel.close() }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let log: NIOLockedValueBox<[Request]>
        let accounts: NIOLockedValueBox<[String: String]>
        var path = ""
        var body = ByteBuffer()

        init(log: NIOLockedValueBox<[Request]>, accounts: NIOLockedValueBox<[String: String]>) {
            self.log = log
            self.accounts = accounts
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                path = head.uri
                body.clear()
            case .body(var chunk):
                body.writeBuffer(&chunk)
            case .end:
                let json = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: String] ?? [:]
                log.withLockedValue { $0.append(Request(path: path, json: json)) }
                let (status, text) = respond(path: path, json: json)
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: "application/json")
                headers.add(name: "Content-Length", value: "\(text.utf8.count)")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }

        func respond(path: String, json: [String: String]) -> (HTTPResponseStatus, String) {
            let login = json["loginId"] ?? ""
            switch path {
            case "/auth/signup":
                let created = accounts.withLockedValue { accounts -> Bool in
                    guard accounts[login] == nil else { return false }
                    accounts[login] = json["password"]
                    return true
                }
                return created ? (.created, #"{"loginId":"\#(login)"}"#) : (.conflict, #"{"error":"conflict","message":"exists"}"#)
            case "/auth/login":
                guard accounts.withLockedValue({ $0[login] }) == json["password"] else {
                    return (.unauthorized, #"{"error":"unauthorized","message":"bad credentials"}"#)
                }
                return (.ok, #"{"msg":"ok","tokenResponse":{"accessToken":"access-\#(login)","refreshToken":"refresh-\#(login)"}}"#)
            default:
                return (.notFound, #"{"error":"not_found","message":"no route"}"#)
            }
        }
    }
}
