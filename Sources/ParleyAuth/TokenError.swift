/// Why a token was rejected.
///
/// `code` is stable and machine readable (it is used in the JWT vectors, REST error bodies and logs);
/// `message` is safe to show to the client (the STOMP broker puts it in its ERROR frame): it says why,
/// never echoes the token or the secret.
public struct TokenError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The stable reason codes.
    public enum Code: String, Sendable, Hashable, CaseIterable, Codable {
        /// The token is longer than the configured cap; it was not parsed at all.
        case tooLarge = "token_too_large"
        /// Not a compact JWS: wrong segment count, bad base64url, JSON that is not an object, duplicate keys…
        case malformed
        /// The header's `alg` is missing or is not `HS256` (for example `none`, `RS256`, `HS512`).
        case algorithmNotAllowed = "algorithm_not_allowed"
        /// The header's `typ` is present but is not `JWT`.
        case typeNotAllowed = "header_type_not_allowed"
        /// The signature is missing or does not match the header and payload under our key.
        case badSignature = "bad_signature"
        /// `exp` is in the past (beyond the leeway).
        case expired
        /// `nbf` is in the future (beyond the leeway).
        case notYetValid = "not_yet_valid"
        /// The `token_type` claim names the other kind of token.
        case wrongTokenType = "wrong_token_type"
        /// There is no usable `sub` claim.
        case missingSubject = "missing_subject"
        /// Another required claim (`exp`, `iat`, `jti`, `token_type`) is missing or has the wrong JSON type.
        case missingClaim = "missing_claim"
    }

    /// The stable machine-readable reason.
    public let code: Code
    /// A short, client-safe explanation.
    public let message: String

    /// Creates an error with a reason and a client-safe message.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `code: message`, for logs.
    public var description: String { "\(code.rawValue): \(message)" }
}

extension TokenError {
    static let tooLarge = TokenError(.tooLarge, "token is too large")
    static let wrongSegmentCount = TokenError(.malformed, "token must have three dot-separated segments")
    static func badBase64(_ part: String) -> TokenError {
        TokenError(.malformed, "token \(part) is not valid base64url")
    }
    static func notJSONObject(_ part: String) -> TokenError {
        TokenError(.malformed, "token \(part) is not a JSON object")
    }
    static let missingAlgorithm = TokenError(.algorithmNotAllowed, "token header has no alg")
    static let algorithmNotAllowed = TokenError(.algorithmNotAllowed, "token algorithm is not allowed (only HS256)")
    static let typeNotAllowed = TokenError(.typeNotAllowed, "token header typ must be JWT")
    static let criticalHeader = TokenError(.malformed, "token header has unsupported critical parameters")
    static let missingSignature = TokenError(.badSignature, "token has no signature")
    static let badSignature = TokenError(.badSignature, "token signature is invalid")
    static let expired = TokenError(.expired, "token has expired")
    static let notYetValid = TokenError(.notYetValid, "token is not yet valid")
    static let missingSubject = TokenError(.missingSubject, "token has no subject")
    static func missingClaim(_ name: String) -> TokenError {
        TokenError(.missingClaim, "token claim \(name) is missing or invalid")
    }
    static func wrongTokenType(expected: TokenType) -> TokenError {
        TokenError(.wrongTokenType, "\(expected.rawValue) token required")
    }
}
