import Crypto
import Foundation
import JWTKit
import Testing

@testable import ParleyAuth
import ParleyJSON

@Suite("JWTService")
struct JWTServiceTests {
    static let secret = try! JWTSecret(bytes: Array("0123456789abcdef0123456789abcdef-test".utf8))

    @Test("issued tokens verify as their own type only")
    func roundTrip() async throws {
        let service = await JWTService(secret: Self.secret)
        let pair = try await service.issueTokenPair(subject: "7")
        let access = try await service.verify(pair.accessToken, as: .access)
        #expect(access == pair.access)
        #expect(access.subject == "7")
        #expect(access.expiresAt.timeIntervalSince(access.issuedAt) == 30 * 60)
        let refresh = try await service.verify(pair.refreshToken, as: .refresh)
        #expect(refresh == pair.refresh)
        #expect(refresh.expiresAt.timeIntervalSince(refresh.issuedAt) == 7 * 24 * 3600)
        #expect(access.tokenID != refresh.tokenID)

        await #expect(throws: TokenError(.wrongTokenType, "access token required")) {
            try await service.verify(pair.refreshToken, as: .access)
        }
        await #expect(throws: TokenError(.wrongTokenType, "refresh token required")) {
            try await service.verify(pair.accessToken, as: .refresh)
        }
    }

    @Test("claims on the wire: whole seconds, HS256/JWT header, token_type")
    func wireFormat() async throws {
        let service = await JWTService(secret: Self.secret)
        let issued = try await service.issue(.access, subject: "9", now: Date(timeIntervalSince1970: 1_700_000_000.75))
        let segments = issued.token.split(separator: ".").map(String.init)
        #expect(segments.count == 3)
        let header = try JSONSerialization.jsonObject(with: Data(Base64URL.decode(segments[0])!)) as! [String: Any]
        #expect(header["alg"] as? String == "HS256")
        #expect(header["typ"] as? String == "JWT")
        let payloadText = String(decoding: Base64URL.decode(segments[1])!, as: UTF8.self)
        #expect(payloadText.contains("\"iat\":1700000000"))
        #expect(payloadText.contains("\"exp\":1700001800"))
        #expect(payloadText.contains("\"token_type\":\"access\""))
        #expect(!payloadText.contains("1700000000."))
        // Verified at a time inside its life, rejected after it.
        _ = try service.verify(issued.token, as: .access, now: Date(timeIntervalSince1970: 1_700_001_000))
        #expect(throws: TokenError.expired) {
            try service.verify(issued.token, as: .access, now: Date(timeIntervalSince1970: 1_700_001_806))
        }
    }

    @Test("jwt-kit verifies what we issue; we verify what jwt-kit signs")
    func crossCheck() async throws {
        let service = await JWTService(secret: Self.secret)
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(key: Self.secret.key), digestAlgorithm: .sha256)
        let pair = try await service.issueTokenPair(subject: "11")
        let decoded = try await keys.verify(pair.accessToken, as: IssuedClaims.self)
        #expect(decoded.sub == "11")
        #expect(decoded.jti == pair.access.tokenID)

        let now = Int64(Date().timeIntervalSince1970)
        let foreign = IssuedClaims(sub: "12", iat: now, exp: now + 60, jti: "j-1", token_type: .refresh)
        let token = try await keys.sign(foreign)
        let verified = try await service.verify(token, as: .refresh)
        #expect(verified.subject == "12")
        #expect(verified.tokenID == "j-1")
    }

    @Test("a token signed under another secret is rejected")
    func otherSecret() async throws {
        let other = await JWTService(secret: try JWTSecret(bytes: [UInt8](repeating: 7, count: 32)))
        let service = await JWTService(secret: Self.secret)
        let token = try await other.issue(.access, subject: "1").token
        await #expect(throws: TokenError.badSignature) { try await service.verify(token, as: .access) }
    }

    @Test("the precomputed-pad HMAC equals swift-crypto's HMAC for short, block-size and long keys")
    func hmacMatchesCrypto() {
        for keyLength in [1, 32, 63, 64, 65, 86, 200] {
            let key = SymmetricKey(data: (0..<keyLength).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) })
            let verifier = HS256Verifier(key: key, maximumTokenBytes: 8192)
            for messageLength in [0, 1, 55, 64, 300] {
                let message = (0..<messageLength).map { UInt8(truncatingIfNeeded: $0) }
                let ours = message.withUnsafeBytes { Array(verifier.authenticationCode(for: $0)) }
                let reference = Array(HMAC<SHA256>.authenticationCode(for: message, using: key))
                #expect(ours == reference, "key \(keyLength) bytes, message \(messageLength) bytes")
            }
        }
    }
}
