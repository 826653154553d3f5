import struct Foundation.Date

/// The claims of a token that passed every check.
public struct VerifiedToken: Sendable, Hashable {
    /// The `sub` claim: the account id, as a decimal string.
    public let subject: String
    /// The `jti` claim: unique per issued token.
    public let tokenID: String
    /// The `token_type` claim.
    public let type: TokenType
    /// The `iat` claim.
    public let issuedAt: Date
    /// The `exp` claim.
    public let expiresAt: Date

    /// Creates verified claims (normally only the verifier does).
    public init(subject: String, tokenID: String, type: TokenType, issuedAt: Date, expiresAt: Date) {
        self.subject = subject
        self.tokenID = tokenID
        self.type = type
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
    }

    /// The `jti` claim (alias of ``tokenID``).
    public var jti: String { tokenID }
}

/// A freshly issued access + refresh token pair.
public struct TokenPair: Sendable, Hashable {
    /// The signed access token.
    public let accessToken: String
    /// The signed refresh token.
    public let refreshToken: String
    /// The access token's claims.
    public let access: VerifiedToken
    /// The refresh token's claims (its `tokenID` is what the account store tracks for rotation).
    public let refresh: VerifiedToken

    /// Creates a pair.
    public init(accessToken: String, refreshToken: String, access: VerifiedToken, refresh: VerifiedToken) {
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.access = access
        self.refresh = refresh
    }
}
