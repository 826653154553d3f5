import Crypto
import ParleyJSON

/// Verifies compact HS256 JWS tokens without Foundation's JSON decoder.
///
/// jwt-kit selects the algorithm from the header and never compares it with the key's algorithm, and its
/// verification path (an actor hop plus `JSONDecoder`) is far slower than the broker's CONNECT rate needs.
/// This type does the whole check itself: size cap, segment split, header (`alg` must be `HS256`, `typ` if
/// present must be `JWT`, no `crit`), then a constant-time HMAC-SHA256 comparison, then the claims.
/// jwt-kit stays the issuer, and the tests cross-check both directions.
struct HS256Verifier: Sendable {
    /// SHA-256 states that have already absorbed `key ^ ipad` and `key ^ opad` (RFC 2104). Copying them per
    /// token (copy-on-write) saves hashing both pad blocks on every verification.
    private let innerState: SHA256
    private let outerState: SHA256
    let maximumTokenBytes: Int

    /// The base64url header segments Parley issues (both member orders); a token carrying one of these
    /// byte-for-byte has, by strict base64url, exactly that header, so it need not be decoded and parsed.
    private static let knownGoodHeaders: [[UInt8]] = [
        Array("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9".utf8),  // {"alg":"HS256","typ":"JWT"}
        Array("eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9".utf8),  // {"typ":"JWT","alg":"HS256"}
    ]

    init(key: SymmetricKey, maximumTokenBytes: Int) {
        let blockSize = 64
        var keyBytes = key.withUnsafeBytes { Array($0) }
        if keyBytes.count > blockSize { keyBytes = Array(SHA256.hash(data: keyBytes)) }
        keyBytes += [UInt8](repeating: 0, count: blockSize - keyBytes.count)
        var inner = SHA256()
        inner.update(data: keyBytes.map { $0 ^ 0x36 })
        var outer = SHA256()
        outer.update(data: keyBytes.map { $0 ^ 0x5c })
        self.innerState = inner
        self.outerState = outer
        self.maximumTokenBytes = maximumTokenBytes
    }

    /// HMAC-SHA256 of `message` under the key.
    func authenticationCode(for message: UnsafeRawBufferPointer) -> SHA256.Digest {
        var inner = innerState
        inner.update(bufferPointer: message)
        let innerDigest = inner.finalize()
        var outer = outerState
        innerDigest.withUnsafeBytes { outer.update(bufferPointer: $0) }
        return outer.finalize()
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

        if !Self.knownGoodHeaders.contains(where: { $0.elementsEqual(headerSegment) }) {
            try Self.checkHeader(headerSegment)
        }

        guard !signatureSegment.isEmpty else { throw .missingSignature }
        let expected = authenticationCode(for: UnsafeRawBufferPointer(rebasing: token[..<secondDot]))
        // Strict base64url has exactly one spelling per byte string, so comparing the text with the canonical
        // spelling of the expected MAC is the same check as decoding and comparing bytes, without the decode.
        let matches = expected.withUnsafeBytes {
            Base64URL.constantTimeMatches(bytes: $0, text: signatureSegment)
        }
        if !matches {
            // Say why: undecodable text is malformed, anything else is a wrong MAC.
            guard Base64URL.decode(signatureSegment) != nil else { throw .badBase64("signature") }
            throw .badSignature
        }

        guard let payload = Base64URL.decode(payloadSegment) else { throw .badBase64("payload") }
        return payload
    }

    /// Header rules: `alg` exactly `HS256`, `typ` absent or `JWT`, no `crit`.
    private static func checkHeader(_ headerSegment: UnsafeRawBufferPointer) throws(TokenError) {
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
    }

    /// The JWS profile: header and signature, then `exp`/`nbf` when the payload is a JSON object with them.
    /// Payloads that are not JSON (RFC 7520 §4.4 signs prose) are accepted as opaque bytes.
    func verifyJWS(_ token: String, now: Double, leeway: Double) throws(TokenError) -> FlatJSONObject? {
        let payload = try verifySignature(token)
        guard let claims = FlatJSONObject(parsing: payload) else { return nil }
        if let value = claims["exp"] {
            guard let expiry = value.numberValue else { throw .missingClaim("exp") }
            if now >= expiry + leeway { throw .expired }
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
        guard let expiry = claims["exp"]?.numberValue else { throw .missingClaim("exp") }
        guard let issuedAt = claims["iat"]?.numberValue else { throw .missingClaim("iat") }
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
        guard let value = claims["nbf"] else { return }
        guard let notBefore = value.numberValue else { throw .missingClaim("nbf") }
        if now + leeway < notBefore { throw .notYetValid }
    }
}
