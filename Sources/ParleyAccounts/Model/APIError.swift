import Foundation
import Hummingbird
import ParleyAuth

/// An error the account API reports as `{"error": code, "message": …}` (plus `field` for validation errors).
public struct APIError: Error, Sendable, Hashable, HTTPResponseError {
    /// HTTP status.
    public var status: HTTPResponse.Status
    /// Stable machine-readable code.
    public var code: String
    /// Client-safe explanation.
    public var message: String
    /// The request field at fault, for validation errors.
    public var field: String?
    /// Extra response headers (`Retry-After`, `WWW-Authenticate`).
    public var headers: HTTPFields

    /// Creates an error.
    public init(_ status: HTTPResponse.Status, code: String, message: String, field: String? = nil, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers
    }

    /// The JSON body: `{"error", "message", "field"?}`.
    public struct Body: Codable, Sendable, Hashable {
        /// Stable code.
        public var error: String
        /// Explanation.
        public var message: String
        /// Field at fault, if any.
        public var field: String?
    }

    /// Renders the error as a JSON response.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        makeResponse()
    }

    func makeResponse() -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(Body(error: code, message: message, field: field))) ?? Data()
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension APIError {
    /// 400 naming the field and why.
    public static func invalidField(_ field: String, _ why: String) -> APIError {
        APIError(.badRequest, code: "invalid_field", message: "\(field) \(why)", field: field)
    }
    /// 400 for a body that is not the JSON object expected.
    public static func malformedJSON(_ why: String) -> APIError {
        APIError(.badRequest, code: "malformed_json", message: why)
    }
    /// 409 for a loginId that is taken.
    public static let duplicateLoginId = APIError(
        .conflict, code: "duplicate_login_id", message: "loginId is already taken", field: "loginId")
    /// 401, identical for unknown user and wrong password.
    public static let invalidCredentials = APIError(
        .unauthorized, code: "invalid_credentials", message: "loginId or password is incorrect")
    /// 429 with `Retry-After`.
    public static func tooManyAttempts(retryAfterSeconds: Int) -> APIError {
        APIError(
            .tooManyRequests, code: "too_many_attempts",
            message: "too many failed logins; retry in \(retryAfterSeconds) s",
            headers: [.retryAfter: String(retryAfterSeconds)])
    }
    /// 401 without a usable bearer token.
    public static let missingBearer = APIError(
        .unauthorized, code: "missing_token", message: "Authorization: Bearer <access token> required",
        headers: [.wwwAuthenticate: "Bearer"])
    /// 401 for a token that failed verification; the message says why.
    public static func invalidToken(_ error: TokenError) -> APIError {
        APIError(
            .unauthorized, code: "invalid_token", message: error.message,
            headers: [.wwwAuthenticate: "Bearer error=\"invalid_token\""])
    }
    /// 401 for a refresh token that was already rotated: every session of the account was revoked.
    public static let refreshTokenReused = APIError(
        .unauthorized, code: "refresh_token_reused",
        message: "refresh token was already used; all sessions of this account have been revoked")
    /// 401 for a refresh token that was revoked (logout, password change) or is unknown.
    public static let refreshTokenRevoked = APIError(
        .unauthorized, code: "refresh_token_revoked", message: "refresh token is no longer valid")
    /// 401 for a token whose account was deleted.
    public static let accountGone = APIError(
        .unauthorized, code: "account_not_found", message: "the account of this token no longer exists")
    /// 403 for a wrong current password on password change.
    public static let wrongCurrentPassword = APIError(
        .forbidden, code: "wrong_password", message: "oldPassword is incorrect", field: "oldPassword")
}
