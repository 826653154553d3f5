import Foundation
import JWTKit
import ParleyJSON
import Testing

@testable import ParleyAuth

/// One entry of `Fixtures/jwt/vectors.json` (format in the README beside it).
struct JWTVector: Decodable, Sendable, CustomTestStringConvertible {
    struct Key: Decodable, Sendable {
        var encoding: String
        var value: String
    }
    struct ExpectedClaims: Decodable, Sendable {
        var sub: String?
        var jti: String?
        var iat: Double?
        var exp: Double?
        var token_type: String?
    }
    struct Expected: Decodable, Sendable {
        var valid: Bool
        var claims: ExpectedClaims?
        var error: String?
    }

    var name: String
    var source: String
    var key: Key
    var token: String
    var now: Double
    var leewaySeconds: Int
    var maxTokenBytes: Int
    var expectedType: TokenType?
    var expected: Expected

    var testDescription: String { name }

    var keyBytes: [UInt8] {
        switch key.encoding {
        case "hex":
            var bytes = [UInt8]()
            var characters = key.value.makeIterator()
            while let high = characters.next(), let low = characters.next() {
                bytes.append(UInt8(String([high, low]), radix: 16)!)
            }
            return bytes
        default:
            return Base64URL.decode(key.value)!
        }
    }

    static let fixtureURL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/jwt/vectors.json")

    static let all: [JWTVector] = {
        struct Document: Decodable {
            var format: String
            var vectors: [JWTVector]
        }
        do {
            let document = try JSONDecoder().decode(Document.self, from: Data(contentsOf: fixtureURL))
            precondition(document.format == "parley-jwt-vectors/1")
            return document.vectors
        } catch {
            fatalError("cannot load \(fixtureURL.path): \(error)")
        }
    }()
}

/// Claims decoded by jwt-kit without any policy, to cross-check our verifier against an independent one.
private struct LooseClaims: JWTPayload {
    var sub: String
    var jti: String
    var token_type: String
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

@Suite("JWT vectors")
struct JWTVectorTests {
    @Test("the fixture has the required coverage")
    func coverage() {
        let vectors = JWTVector.all
        #expect(vectors.filter { !$0.expected.valid }.count >= 25)
        #expect(vectors.contains { $0.source == "RFC 7515 Appendix A.1" && $0.expected.valid })
        #expect(vectors.contains { $0.source == "RFC 7520 section 4.4" && $0.expected.valid })
        let codes = Set(vectors.compactMap(\.expected.error))
        #expect(codes == Set(TokenError.Code.allCases.map(\.rawValue)), "every error code is exercised")
    }

    @Test("every vector verifies as expected", arguments: JWTVector.all)
    func vector(_ vector: JWTVector) async throws {
        let secret = try JWTSecret(bytes: vector.keyBytes)
        let service = await JWTService(
            secret: secret,
            configuration: .init(leeway: .seconds(vector.leewaySeconds), maximumTokenBytes: vector.maxTokenBytes))
        let now = Date(timeIntervalSince1970: vector.now)

        if let expectedType = vector.expectedType {
            do {
                let verified = try service.verify(vector.token, as: expectedType, now: now)
                #expect(vector.expected.valid, "accepted, but expected \(vector.expected.error ?? "?")")
                let claims = try #require(vector.expected.claims)
                #expect(verified.subject == claims.sub)
                #expect(verified.tokenID == claims.jti)
                #expect(verified.type.rawValue == claims.token_type)
                #expect(verified.issuedAt.timeIntervalSince1970 == claims.iat)
                #expect(verified.expiresAt.timeIntervalSince1970 == claims.exp)

                // An independent implementation agrees that the signature and claims are good.
                let keys = JWTKeyCollection()
                await keys.add(hmac: HMACKey(from: vector.keyBytes), digestAlgorithm: .sha256)
                let loose = try await keys.verify(vector.token, as: LooseClaims.self)
                #expect(loose.sub == verified.subject)
                #expect(loose.jti == verified.tokenID)
            } catch let error as TokenError {
                #expect(!vector.expected.valid, "rejected with \(error), expected valid")
                #expect(error.code.rawValue == vector.expected.error)
                #expect(!error.message.isEmpty && !error.message.contains(vector.token.prefix(20)))
            }
        } else {
            do {
                let payloadIsJSON = try service.verifySignatureOnly(vector.token, now: now)
                #expect(vector.expected.valid, "accepted, but expected \(vector.expected.error ?? "?")")
                #expect(payloadIsJSON == (vector.expected.claims != nil))
            } catch {
                #expect(!vector.expected.valid, "rejected with \(error), expected valid")
                #expect(error.code.rawValue == vector.expected.error)
            }
        }
    }
}
