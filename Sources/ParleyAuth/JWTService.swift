import Crypto
import Foundation
import JWTKit

/// Issues and verifies Parley's HS256 access and refresh tokens.
///
/// Tokens carry `sub` (account id), `iat` and `exp` (whole seconds), `jti` (random UUID) and `token_type`.
/// Issuing goes through jwt-kit; verification is ``HS256Verifier``, which also makes the checks jwt-kit
/// leaves out (header `alg` pinned to HS256, `typ`, `crit`, size cap, strict base64url).
public struct JWTService: Sendable {
    /// Lifetimes and verification policy.
    public struct Configuration: Sendable, Hashable {
        /// Lifetime of access tokens (default 30 minutes).
        public var accessTokenLifetime: Duration
        /// Lifetime of refresh tokens (default 7 days).
        public var refreshTokenLifetime: Duration
        /// Clock-skew allowance applied to `exp` and `nbf` (default 5 seconds).
        public var leeway: Duration
        /// Tokens longer than this many bytes are rejected unparsed (default 8 KiB).
        public var maximumTokenBytes: Int

        /// Creates a configuration; every argument has the documented default.
        public init(
            accessTokenLifetime: Duration = .seconds(30 * 60),
            refreshTokenLifetime: Duration = .seconds(7 * 24 * 3600),
            leeway: Duration = .seconds(5),
            maximumTokenBytes: Int = 8192
        ) {
            self.accessTokenLifetime = accessTokenLifetime
            self.refreshTokenLifetime = refreshTokenLifetime
            self.leeway = leeway
            self.maximumTokenBytes = maximumTokenBytes
        }
    }

    /// The policy in force.
    public let configuration: Configuration
    private let keys: JWTKeyCollection
    private let verifier: HS256Verifier

    /// Creates a service signing with `secret`.
    public init(secret: JWTSecret, configuration: Configuration = .init()) async {
        self.configuration = configuration
        self.keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(key: secret.key), digestAlgorithm: .sha256)
        self.verifier = HS256Verifier(key: secret.key, maximumTokenBytes: configuration.maximumTokenBytes)
    }

    // MARK: Issuing

    /// Issues one token of `type` for `subject`, valid from `now` (rounded down to whole seconds).
    public func issue(_ type: TokenType, subject: String, now: Date = Date()) async throws -> (
        token: String, claims: VerifiedToken
    ) {
        let issuedAt = Int64(now.timeIntervalSince1970.rounded(.down))
        let lifetime = type == .access ? configuration.accessTokenLifetime : configuration.refreshTokenLifetime
        let expiresAt = issuedAt + lifetime.components.seconds
        let claims = IssuedClaims(
            sub: subject, iat: issuedAt, exp: expiresAt, jti: UUID().uuidString.lowercased(), token_type: type)
        let token = try await keys.sign(claims)
        return (
            token,
            VerifiedToken(
                subject: subject, tokenID: claims.jti, type: type,
                issuedAt: Date(timeIntervalSince1970: Double(issuedAt)),
                expiresAt: Date(timeIntervalSince1970: Double(expiresAt)))
        )
    }

    /// Issues an access token and a refresh token for `subject`.
    public func issueTokenPair(subject: String, now: Date = Date()) async throws -> TokenPair {
        let access = try await issue(.access, subject: subject, now: now)
        let refresh = try await issue(.refresh, subject: subject, now: now)
        return TokenPair(
            accessToken: access.token, refreshToken: refresh.token, access: access.claims, refresh: refresh.claims)
    }

    // MARK: Verifying

    /// Verifies `token` as a token of `type` at the current time.
    ///
    /// Async so callers need not care whether verification ever hops; today it runs inline.
    public func verify(_ token: String, as type: TokenType) async throws(TokenError) -> VerifiedToken {
        try verify(token, as: type, now: Date())
    }

    /// Verifies `token` as a token of `type` at `now` (synchronous: safe to call on an event loop).
    public func verify(_ token: String, as type: TokenType, now: Date) throws(TokenError) -> VerifiedToken {
        try verifier.verify(
            token, as: type, now: now.timeIntervalSince1970, leeway: Self.seconds(configuration.leeway))
    }

    /// Checks only the JWS layer (header, signature, and `exp`/`nbf` when the payload is a JSON object).
    /// For foreign tokens such as the RFC examples; Parley code wants ``verify(_:as:now:)``.
    /// Returns `true` when the payload is a JSON object, `false` when it is opaque bytes.
    @discardableResult
    public func verifySignatureOnly(_ token: String, now: Date) throws(TokenError) -> Bool {
        try verifier.verifyJWS(token, now: now.timeIntervalSince1970, leeway: Self.seconds(configuration.leeway))
            != nil
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// The claim set Parley issues. Integer times keep `iat`/`exp` whole seconds on the wire.
struct IssuedClaims: JWTPayload, Equatable {
    var sub: String
    var iat: Int64
    var exp: Int64
    var jti: String
    // swift-format-ignore: AlwaysUseLowerCamelCase
    var token_type: TokenType

    /// jwt-kit calls this after its own signature check; Parley's verifier checks claims itself, and here only
    /// expiry is re-checked so a jwt-kit-only caller (the cross-check tests) still refuses stale tokens.
    func verify(using algorithm: some JWTAlgorithm) async throws {
        try ExpirationClaim(value: Date(timeIntervalSince1970: Double(exp))).verifyNotExpired()
    }
}
