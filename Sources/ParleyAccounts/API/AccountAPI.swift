import Crypto
import Foundation
import Hummingbird
import Logging
import NIOCore
import ParleyAuth

/// Settings of the REST API itself.
public struct AccountAPIConfiguration: Sendable, Hashable {
    /// Request bodies larger than this get 413 (default 16 KiB: every request here is a few hundred bytes).
    public var maximumBodyBytes: Int
    /// Failed-login throttling.
    public var throttle: LoginThrottle.Configuration

    /// Creates a configuration with the documented defaults.
    public init(maximumBodyBytes: Int = 16 * 1024, throttle: LoginThrottle.Configuration = .init()) {
        self.maximumBodyBytes = maximumBodyBytes
        self.throttle = throttle
    }
}

/// The account REST API: signup, login, refresh with rotation and reuse detection, logout, profile.
///
/// Routes (JSON in and out; errors are `{"error", "message"}`):
/// `POST /auth/signup`, `POST /auth/login`, `POST /auth/token/refresh`, `POST /auth/logout`,
/// `GET|PATCH|DELETE /accounts/me`, `PUT /accounts/me/password`.
public struct AccountAPI: Sendable {
    let store: any AccountStore
    let jwt: JWTService
    let hasher: PasswordHasher
    let throttle: LoginThrottle
    let configuration: AccountAPIConfiguration
    /// A real hash checked when the loginId is unknown, so both failures take the same time.
    let decoyHash: String

    /// Creates the API over a store and a token service.
    public init(
        store: any AccountStore, jwt: JWTService, hasher: PasswordHasher,
        configuration: AccountAPIConfiguration = .init()
    ) async throws {
        self.store = store
        self.jwt = jwt
        self.hasher = hasher
        self.configuration = configuration
        self.throttle = LoginThrottle(configuration: configuration.throttle)
        self.decoyHash = try await hasher.hash("decoy-password-\(UUID().uuidString)")
    }

    /// Adds the routes and the JSON error middleware to `router`.
    public func register<Context: RequestContext>(on router: Router<Context>) {
        router.add(middleware: JSONErrorMiddleware<Context>())
        router.post("/auth/signup") { request, _ in try await signup(request) }
        router.post("/auth/login") { request, _ in try await login(request) }
        router.post("/auth/token/refresh") { request, _ in try await refresh(request) }
        router.post("/auth/logout") { request, _ in try await logout(request) }
        router.get("/accounts/me") { request, _ in try await me(request) }
        router.patch("/accounts/me") { request, _ in try await updateProfile(request) }
        router.put("/accounts/me/password") { request, _ in try await changePassword(request) }
        router.delete("/accounts/me") { request, _ in try await deleteAccount(request) }
    }

    // MARK: Handlers

    func signup(_ request: Request) async throws -> Response {
        let body = try await decode(SignupRequest.self, from: request)
        let loginId = try require(body.loginId, "loginId")
        try AccountValidation.validateLoginId(loginId)
        let username = try AccountValidation.validateUsername(try require(body.username, "username"))
        let password = try require(body.password, "password")
        try AccountValidation.validatePassword(password)
        // Cheap duplicate check first so a taken loginId does not cost a bcrypt hash; the unique index decides.
        if try await store.storedAccount(loginId: loginId) != nil { throw APIError.duplicateLoginId }
        let hash = try await hasher.hash(password)
        do {
            let account = try await store.createAccount(
                loginId: loginId, username: username, passwordHash: hash, createdAt: Date())
            return try Self.json(account, status: .created)
        } catch AccountStoreError.duplicateLoginId {
            throw APIError.duplicateLoginId
        }
    }

    func login(_ request: Request) async throws -> Response {
        let body = try await decode(LoginRequest.self, from: request)
        let loginId = try require(body.loginId, "loginId")
        let password = try require(body.password, "password")
        if let wait = await throttle.retryAfter(loginId: loginId) {
            throw APIError.tooManyAttempts(retryAfterSeconds: wait)
        }
        let stored = try await store.storedAccount(loginId: loginId)
        let matches = try await hasher.verify(password, against: stored?.passwordHash ?? decoyHash)
        guard let stored, matches else {
            await throttle.recordFailure(loginId: loginId)
            throw APIError.invalidCredentials
        }
        await throttle.recordSuccess(loginId: loginId)
        let pair = try await jwt.issueTokenPair(subject: String(stored.account.id))
        try await store.insertRefreshToken(
            Self.record(for: pair, accountId: stored.account.id, familyId: UUID().uuidString.lowercased()))
        return try Self.json(Self.tokenBody(pair, msg: "login succeeded"), status: .ok)
    }

    func refresh(_ request: Request) async throws -> Response {
        let body = try await decode(RefreshRequest.self, from: request)
        let presented = try require(body.refreshToken, "refreshToken")
        let verified: VerifiedToken
        do {
            verified = try await jwt.verify(presented, as: .refresh)
        } catch {
            throw APIError.invalidToken(error)
        }
        guard let accountId = Int64(verified.subject) else { throw APIError.invalidToken(.init(.missingSubject, "token subject is not an account id")) }
        let pair = try await jwt.issueTokenPair(subject: verified.subject)
        let outcome = try await store.rotateRefreshToken(
            presentedHash: Self.hash(presented),
            replacement: Self.record(for: pair, accountId: accountId, familyId: ""),
            now: Date())
        switch outcome {
        case .rotated:
            return try Self.json(Self.tokenBody(pair, msg: "token refreshed"), status: .ok)
        case .reuseDetected:
            throw APIError.refreshTokenReused
        case .revoked, .unknown:
            throw APIError.refreshTokenRevoked
        }
    }

    func logout(_ request: Request) async throws -> Response {
        let account = try await authenticate(request)
        try await store.revokeRefreshTokens(accountId: account.id)
        return Response(status: .noContent)
    }

    func me(_ request: Request) async throws -> Response {
        try Self.json(try await authenticate(request), status: .ok)
    }

    func updateProfile(_ request: Request) async throws -> Response {
        let account = try await authenticate(request)
        let body = try await decode(UpdateProfileRequest.self, from: request)
        let username = try AccountValidation.validateUsername(try require(body.username, "username"))
        guard let updated = try await store.updateUsername(accountId: account.id, username: username) else {
            throw APIError.accountGone
        }
        return try Self.json(updated, status: .ok)
    }

    func changePassword(_ request: Request) async throws -> Response {
        let account = try await authenticate(request)
        let body = try await decode(ChangePasswordRequest.self, from: request)
        let oldPassword = try require(body.oldPassword, "oldPassword")
        let newPassword = try require(body.newPassword, "newPassword")
        try AccountValidation.validatePassword(newPassword, field: "newPassword")
        guard let stored = try await store.storedAccount(id: account.id) else { throw APIError.accountGone }
        guard try await hasher.verify(oldPassword, against: stored.passwordHash) else {
            throw APIError.wrongCurrentPassword
        }
        let hash = try await hasher.hash(newPassword)
        guard try await store.updatePasswordHash(accountId: account.id, passwordHash: hash) else {
            throw APIError.accountGone
        }
        return Response(status: .noContent)
    }

    func deleteAccount(_ request: Request) async throws -> Response {
        let account = try await authenticate(request)
        guard try await store.deleteAccount(accountId: account.id) else { throw APIError.accountGone }
        return Response(status: .noContent)
    }

    // MARK: Helpers

    /// Verifies the Bearer access token and loads its account.
    func authenticate(_ request: Request) async throws -> Account {
        guard let header = request.headers[.authorization] else { throw APIError.missingBearer }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw APIError.missingBearer }
        let verified: VerifiedToken
        do {
            verified = try await jwt.verify(String(parts[1]).trimmingCharacters(in: .whitespaces), as: .access)
        } catch {
            throw APIError.invalidToken(error)
        }
        guard let id = Int64(verified.subject), let account = try await store.account(id: id) else {
            throw APIError.accountGone
        }
        return account
    }

    /// Reads at most the configured number of bytes and decodes JSON, naming the field on type errors.
    func decode<Body: Decodable>(_ type: Body.Type, from request: Request) async throws -> Body {
        let limit = configuration.maximumBodyBytes
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw APIError(.contentTooLarge, code: "payload_too_large", message: "request body exceeds \(limit) bytes")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, code: "payload_too_large", message: "request body exceeds \(limit) bytes")
        }
        guard buffer.readableBytes > 0 else { throw APIError.malformedJSON("request body must be a JSON object") }
        do {
            return try JSONDecoder().decode(Body.self, from: Data(buffer.readableBytesView))
        } catch DecodingError.typeMismatch(_, let context) where !context.codingPath.isEmpty {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw APIError.invalidField(field, "must be a string")
        } catch DecodingError.typeMismatch {
            throw APIError.malformedJSON("request body must be a JSON object")
        } catch {
            throw APIError.malformedJSON("request body is not valid JSON")
        }
    }

    static func hash(_ token: String) -> Data {
        Data(SHA256.hash(data: Array(token.utf8)))
    }

    static func record(for pair: TokenPair, accountId: Int64, familyId: String) -> RefreshTokenRecord {
        RefreshTokenRecord(
            tokenHash: hash(pair.refreshToken), tokenID: pair.refresh.tokenID, accountId: accountId,
            familyId: familyId, issuedAt: pair.refresh.issuedAt, expiresAt: pair.refresh.expiresAt)
    }

    static func tokenBody(_ pair: TokenPair, msg: String) -> TokenResponseBody {
        TokenResponseBody(
            msg: msg, tokenResponse: .init(accessToken: pair.accessToken, refreshToken: pair.refreshToken))
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    static func json(_ value: some Encodable, status: HTTPResponse.Status) throws -> Response {
        let data = try encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
