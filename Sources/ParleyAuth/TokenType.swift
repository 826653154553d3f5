/// Which of the two Parley tokens a JWT is.
///
/// The value travels in the `token_type` claim so that a refresh token is never accepted where an access
/// token is required, and the reverse.
public enum TokenType: String, Sendable, Hashable, CaseIterable, Codable {
    /// A short-lived token sent with every request (`Authorization: Bearer`, STOMP CONNECT header).
    case access
    /// A long-lived token that can only be exchanged for a new token pair.
    case refresh

    /// The claim name that carries the token type.
    public static let claimName = "token_type"
}
