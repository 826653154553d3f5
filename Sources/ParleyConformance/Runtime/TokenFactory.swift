import Crypto
import Foundation
import ParleyJSON
import ParleyProfiles

/// Produces the bearer tokens of `TokenKind` for a user.
///
/// Honest by construction: tokens the server would accept as genuine (`expired`, which must be signed with the
/// server's key) are minted only when the runner was given the secret; `forged`, `alg-none` and `garbage` need no
/// secret because they must be rejected anyway; `access` and `refresh` come from the account API.
public struct TokenFactory: Sendable {
    /// Claim layout from the profile.
    public var settings: TokenMintingSettings
    /// The server's HS256 secret, when known.
    public var secret: [UInt8]?

    /// Creates a factory.
    public init(settings: TokenMintingSettings, secret: [UInt8]?) {
        self.settings = settings
        self.secret = secret
    }

    /// Whether `expired` tokens can be made (the `token-minting` runtime capability).
    public var canMint: Bool { secret != nil }

    /// An HS256 token for `subject` with `type` and the given lifetime relative to now; signed with `key`.
    public func token(subject: String, type: String, issuedAt: Date, expiresAt: Date, key: [UInt8]) -> String {
        let header = #"{"alg":"HS256","typ":"JWT"}"#
        let claims: [(String, String)] = [
            ("sub", Template.jsonStringLiteral(subject)),
            ("iat", String(Int(issuedAt.timeIntervalSince1970))),
            ("exp", String(Int(expiresAt.timeIntervalSince1970))),
            ("jti", Template.jsonStringLiteral(UUID().uuidString)),
            (settings.typeClaim, Template.jsonStringLiteral(type)),
        ]
        let payload = "{" + claims.map { Template.jsonStringLiteral($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
        let signingInput = Base64URL.encode(header.utf8) + "." + Base64URL.encode(payload.utf8)
        let mac = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: SymmetricKey(data: key))
        return signingInput + "." + Base64URL.encode(mac)
    }

    /// An access token that expired an hour ago, signed with the server secret; nil without the secret.
    public func expiredAccessToken(subject: String, now: Date = Date()) -> String? {
        guard let secret else { return nil }
        return token(
            subject: subject, type: settings.accessType, issuedAt: now.addingTimeInterval(-7200),
            expiresAt: now.addingTimeInterval(-3600), key: secret)
    }

    /// A valid-looking access token signed with a random key the server cannot know.
    public func forgedAccessToken(subject: String, now: Date = Date()) -> String {
        let randomKey = (0..<32).map { _ in UInt8.random(in: 0...255) }
        return token(
            subject: subject, type: settings.accessType, issuedAt: now, expiresAt: now.addingTimeInterval(1800),
            key: randomKey)
    }

    /// An unsigned token (`alg: none`) for `subject`.
    public func unsignedToken(subject: String, now: Date = Date()) -> String {
        let header = Base64URL.encode(#"{"alg":"none","typ":"JWT"}"#.utf8)
        let payload = Base64URL.encode(
            ("{\"sub\":\(Template.jsonStringLiteral(subject)),\"iat\":\(Int(now.timeIntervalSince1970)),"
                + "\"exp\":\(Int(now.timeIntervalSince1970) + 1800),"
                + "\(Template.jsonStringLiteral(settings.typeClaim)):\(Template.jsonStringLiteral(settings.accessType))}").utf8)
        return header + "." + payload + "."
    }

    /// Something that is not a JWT.
    public static let garbageToken = "not-a-jwt!@#"
}
