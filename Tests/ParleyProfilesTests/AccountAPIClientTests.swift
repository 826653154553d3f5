import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import ParleyProfiles
import Testing

/// The account API client with Parley's request shapes against a small real HTTP server speaking them.
@Suite struct AccountAPIClientTests {
    func client(_ server: FakeAccountServer, path: String = "") throws -> AccountAPIClient {
        try AccountAPIClient(settings: .parley, baseURL: URL(string: "http://127.0.0.1:\(server.port)\(path)"))
    }

    @Test func signupThenLoginReturnsTheTokens() async throws {
        let server = try await FakeAccountServer.start()
        defer { Task { await server.stop() } }
        let api = try client(server)
        let tokens = try await api.signUpAndLogIn(login: "alice1", username: "alice1", password: "secret-pass-1")
        #expect(tokens.accessToken == "access-alice1")
        #expect(tokens.refreshToken == "refresh-alice1")
        #expect(tokens.signupResponse?[path: "loginId"] == .string("alice1"))
        // A second sign-up is a 409, which signUpAndLogIn tolerates so reruns work.
        let again = try await api.signUpAndLogIn(login: "alice1", username: "alice1", password: "secret-pass-1")
        #expect(again.accessToken == "access-alice1")
        let requests = server.requests
        #expect(requests.map(\.path) == ["/auth/signup", "/auth/login", "/auth/signup", "/auth/login"])
        #expect(requests[0].json == ["loginId": "alice1", "username": "alice1", "password": "secret-pass-1"])
        #expect(requests[1].json == ["loginId": "alice1", "password": "secret-pass-1"])
    }

    @Test func wrongPasswordIsAStatusError() async throws {
        let server = try await FakeAccountServer.start()
        defer { Task { await server.stop() } }
        let api = try client(server, path: "/")
        _ = try await api.signUpAndLogIn(login: "bob", username: "bob", password: "right-password")
        await #expect {
            _ = try await api.logIn(login: "bob", password: "wrong")
        } throws: { error in
            let error = error as? AccountAPIError
            return error?.operation == "login bob" && error?.status == 401
                && error?.detail == #"{"error":"unauthorized","message":"bad credentials"}"#
        }
    }

    @Test func badBaseURLsAreRejected() {
        for url in ["https://x", "http://:80", "http://h:0"] {
            #expect(throws: AccountAPIError.self, "\(url)") {
                try AccountAPIClient(settings: .parley, baseURL: URL(string: url))
            }
        }
    }

    @Test func aMethodThatIsNotATokenIsNeverSent() async throws {
        let server = try await FakeAccountServer.start()
        defer { Task { await server.stop() } }
        var settings = AccountAPISettings.parley
        settings.signup.method = "POST /x HTTP/1.1\r\nX-Smuggled: 1\r\n"
        let api = try AccountAPIClient(settings: settings, baseURL: URL(string: "http://127.0.0.1:\(server.port)"))
        await #expect {
            _ = try await api.signUpAndLogIn(login: "eve", username: "eve", password: "secret-pass-1")
        } throws: { error in
            "\(error)".contains("is not an upper-case token")
        }
        #expect(server.requests.isEmpty)
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
