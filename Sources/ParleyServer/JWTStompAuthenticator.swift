import Foundation
import ParleyAuth
import ParleyBroker

/// Authenticates CONNECT frames with Parley access tokens: the token's `sub` is the principal.
///
/// Expired, forged, malformed and refresh-type tokens are refused with ``ParleyAuth/TokenError``'s
/// client-safe message. Verification is HMAC in memory, so it runs inline on the session's event loop.
public struct JWTStompAuthenticator: StompAuthenticator {
    /// The service whose secret verifies tokens.
    public let service: JWTService

    /// Creates an authenticator over `service`.
    public init(service: JWTService) { self.service = service }

    /// Verifies `token` as an access token.
    public func authenticate(token: String) async throws -> StompPrincipal {
        try verify(token).get()
    }

    /// Verifies inline: no suspension needed.
    public func authenticateImmediately(token: String) -> Result<StompPrincipal, any Error>? {
        verify(token)
    }

    private func verify(_ token: String) -> Result<StompPrincipal, any Error> {
        do {
            let verified = try service.verify(token, as: .access, now: Date())
            return .success(StompPrincipal(id: verified.subject))
        } catch {
            return .failure(StompAuthenticationError(error.message))
        }
    }
}
