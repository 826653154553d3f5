import Crypto

/// Verifies compact HS256 JWS tokens without Foundation's JSON decoder.
///
/// jwt-kit selects the algorithm from the header and never compares it with the key's algorithm, and its
/// verification path (an actor hop plus `JSONDecoder`) is far slower than the broker's CONNECT rate needs.
/// This type does the whole check itself: size cap, segment split, header (`alg` must be `HS256`, `typ` if
/// present must be `JWT`, no `crit`), then a constant-time HMAC-SHA256 comparison, then the claims.
/// jwt-kit stays the issuer, and the tests cross-check both directions.
struct HS256Verifier: Sendable {
    /// HMAC state with the key already absorbed; copied per token (copy-on-write) so the key schedule is
    /// computed once.
    private let keyedHMAC: HMAC<SHA256>
    let maximumTokenBytes: Int

    init(key: SymmetricKey, maximumTokenBytes: Int) {
        self.keyedHMAC = HMAC<SHA256>(key: key)
        self.maximumTokenBytes = maximumTokenBytes
    }

    /// Checks everything up to and including the signature; returns the decoded payload bytes.
    func verifySignature(_ token: String) throws(TokenError) -> [UInt8] {
        var token = token
        let result: Result<[UInt8], TokenError> = token.withUTF8 { utf8 in
            do throws(TokenError) {
                return .success(try verifySignature(UnsafeRawBufferPointer(utf8)))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private func verifySignature(_ token: UnsafeRawBufferPointer) throws(TokenError) -> [UInt8] {
        guard token.count <= maximumTokenBytes else { throw .tooLarge }
        guard let firstDot = token.firstIndex(of: UInt8(ascii: ".")) else { throw .wrongSegmentCount }
        let rest = token[(firstDot + 1)...]
        guard let secondDot = rest.firstIndex(of: UInt8(ascii: ".")),
            token[(secondDot + 1)...].firstIndex(of: UInt8(ascii: ".")) == nil
        else { throw .wrongSegmentCount }

        let headerSegment = UnsafeRawBufferPointer(rebasing: token[..<firstDot])
        let payloadSegment = UnsafeRawBufferPointer(rebasing: token[(firstDot + 1)..<secondDot])
        let signatureSegment = UnsafeRawBufferPointer(rebasing: token[(secondDot + 1)...])

        guard let headerBytes = Base64URL.decode(headerSegment) else { throw .badBase64("header") }
        guard let header = FlatJSONObject(parsing: headerBytes) else { throw .notJSONObject("header") }
        switch header["alg"] {
        case nil: throw .missingAlgorithm
        case .string("HS256"): break
        default: throw .algorithmNotAllowed
        }
        switch header["typ"] {
        case nil: break
        // RFC 7515 §4.1.9: media type names are case-insensitive.
        case .string(let type) where type.lowercased() == "jwt": break
        default: throw .typeNotAllowed
        }
        // RFC 7515 §4.1.11: a recipient must reject critical extensions it does not understand (we know none).
        if header["crit"] != nil { throw .criticalHeader }

        guard !signatureSegment.isEmpty else { throw .missingSignature }
        guard let signature = Base64URL.decode(signatureSegment) else { throw .badBase64("signature") }
        var hmac = keyedHMAC
        hmac.update(data: UnsafeRawBufferPointer(rebasing: token[..<secondDot]))
        let expected = hmac.finalize()
        guard expected.withUnsafeBytes({ Self.constantTimeEquals($0, signature) }) else { throw .badSignature }

        guard let payload = Base64URL.decode(payloadSegment) else { throw .badBase64("payload") }
        return payload
    }

    /// The JWS profile: header and signature, then `exp`/`nbf` when the payload is a JSON object with them.
    /// Payloads that are not JSON (RFC 7520 §4.4 signs prose) are accepted as opaque bytes.
    func verifyJWS(_ token: String, now: Double, leeway: Double) throws(TokenError) -> FlatJSONObject? {
        let payload = try verifySignature(token)
        guard let claims = FlatJSONObject(parsing: payload) else { return nil }
        switch claims["exp"] {
        case nil: break
        case .number(let expiry): if now >= expiry + leeway { throw .expired }
        default: throw .missingClaim("exp")
        }
        try Self.checkNotBefore(claims, now: now, leeway: leeway)
        return claims
    }

    /// The Parley profile: every check, then the claims Parley requires.
    func verify(_ token: String, as expectedType: TokenType, now: Double, leeway: Double) throws(TokenError)
        -> VerifiedToken
    {
        let payload = try verifySignature(token)
        guard let claims = FlatJSONObject(parsing: payload) else { throw .notJSONObject("payload") }
        guard case .string(let subject) = claims["sub"], !subject.isEmpty else { throw .missingSubject }
        guard case .string(let tokenTypeName) = claims[TokenType.claimName] else {
            throw .missingClaim(TokenType.claimName)
        }
        guard case .number(let expiry) = claims["exp"] else { throw .missingClaim("exp") }
        guard case .number(let issuedAt) = claims["iat"] else { throw .missingClaim("iat") }
        guard case .string(let tokenID) = claims["jti"], !tokenID.isEmpty else { throw .missingClaim("jti") }
        guard tokenTypeName == expectedType.rawValue else { throw .wrongTokenType(expected: expectedType) }
        if now >= expiry + leeway { throw .expired }
        try Self.checkNotBefore(claims, now: now, leeway: leeway)
        return VerifiedToken(
            subject: subject,
            tokenID: tokenID,
            type: expectedType,
            issuedAt: .init(timeIntervalSince1970: issuedAt),
            expiresAt: .init(timeIntervalSince1970: expiry)
        )
    }

    private static func checkNotBefore(_ claims: FlatJSONObject, now: Double, leeway: Double) throws(TokenError) {
        switch claims["nbf"] {
        case nil: break
        case .number(let notBefore): if now + leeway < notBefore { throw .notYetValid }
        default: throw .missingClaim("nbf")
        }
    }

    /// Compares without an early exit so the time taken does not reveal how many leading bytes matched.
    static func constantTimeEquals(_ lhs: UnsafeRawBufferPointer, _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in 0..<lhs.count { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }
}
