import Foundation

/// `POST /auth/signup` body.
struct SignupRequest: Decodable {
    var loginId: String?
    var username: String?
    var password: String?
}

/// `POST /auth/login` body.
struct LoginRequest: Decodable {
    var loginId: String?
    var password: String?
}

/// `POST /auth/token/refresh` body.
struct RefreshRequest: Decodable {
    var refreshToken: String?
}

/// `PATCH /accounts/me` body.
struct UpdateProfileRequest: Decodable {
    var username: String?
}

/// `PUT /accounts/me/password` body.
struct ChangePasswordRequest: Decodable {
    var oldPassword: String?
    var newPassword: String?
}

/// Login and refresh response, shaped like the original Spring service's.
public struct TokenResponseBody: Codable, Sendable, Hashable {
    /// The token pair.
    public struct Tokens: Codable, Sendable, Hashable {
        /// Access token (Bearer).
        public var accessToken: String
        /// Refresh token (single use).
        public var refreshToken: String
    }
    /// Human-readable outcome.
    public var msg: String
    /// The tokens.
    public var tokenResponse: Tokens
}

/// Requires a field to be present; a 400 names it otherwise.
func require<Value>(_ value: Value?, _ field: String) throws(APIError) -> Value {
    guard let value else { throw .invalidField(field, "is required") }
    return value
}
