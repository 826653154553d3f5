import Foundation
import ParleyAccounts
import ParleyAuth
import Testing

@Suite("Account API error paths", .timeLimit(.minutes(1)))
struct ErrorPathTests {
    @Test("signup validation names the field and says why")
    func signupValidation() async throws {
        try await withServer { server in
            let cases: [([String: any Sendable], String, String)] = [
                (["username": "x", "password": "passw0rd!"], "loginId", "is required"),
                (["loginId": "ab", "username": "x", "password": "passw0rd!"], "loginId", "3 to 32"),
                (["loginId": String(repeating: "a", count: 33), "username": "x", "password": "passw0rd!"], "loginId", "3 to 32"),
                (["loginId": "bad id", "username": "x", "password": "passw0rd!"], "loginId", "may contain only"),
                (["loginId": "_lead", "username": "x", "password": "passw0rd!"], "loginId", "must start"),
                (["loginId": "carol", "password": "passw0rd!"], "username", "is required"),
                (["loginId": "carol", "username": "   ", "password": "passw0rd!"], "username", "1 to 50"),
                (["loginId": "carol", "username": "x"], "password", "is required"),
                (["loginId": "carol", "username": "x", "password": "s3cret"], "password", "at least 8"),
                (["loginId": "carol", "username": "x", "password": "onlyletters"], "password", "letter and one digit"),
                (["loginId": "carol", "username": "x", "password": "a1" + String(repeating: "é", count: 40)], "password", "72 bytes"),
                (["loginId": 12345, "username": "x", "password": "passw0rd!"], "loginId", "must be a string"),
            ]
            for (body, field, why) in cases {
                let result = try await server.request("POST", "/auth/signup", json: body)
                #expect(result.status == 400, "\(body)")
                #expect(result.errorCode == "invalid_field")
                #expect(result.json["field"] as? String == field, "\(body)")
                #expect(result.message?.contains(field) == true && result.message?.contains(why) == true, "\(result.message ?? "")")
            }
        }
    }

    @Test("duplicate loginId (any case) → 409")
    func duplicate() async throws {
        try await withServer { server in
            #expect(try await server.signup("dave").status == 201)
            let again = try await server.signup("DAVE")
            #expect(again.status == 409)
            #expect(again.errorCode == "duplicate_login_id")
        }
    }

    @Test("malformed JSON, wrong shapes, empty and oversized bodies, unknown routes")
    func malformedRequests() async throws {
        try await withServer { server in
            for raw in ["{not json", "[1,2]", "\"text\"", ""] {
                let result = try await server.request("POST", "/auth/login", rawBody: Data(raw.utf8))
                #expect(result.status == 400, "\(raw)")
                #expect(result.errorCode == "malformed_json", "\(raw)")
                #expect(result.message?.isEmpty == false)
            }
            let huge = Data(("{\"loginId\":\"" + String(repeating: "a", count: 20_000) + "\"}").utf8)
            let tooLarge = try await server.request("POST", "/auth/signup", rawBody: huge)
            #expect(tooLarge.status == 413)
            #expect(tooLarge.errorCode == "payload_too_large")

            let unknown = try await server.request("GET", "/nope")
            #expect(unknown.status == 404)
            #expect(unknown.errorCode == "not_found")
            #expect(unknown.header("Content-Type")?.hasPrefix("application/json") == true)
        }
    }

    @Test("unknown user and wrong password give the same 401")
    func sameFailure() async throws {
        try await withServer { server in
            _ = try await server.signup("erin")
            let wrong = try await server.request("POST", "/auth/login", json: ["loginId": "erin", "password": "wrongpass1"])
            let unknown = try await server.request("POST", "/auth/login", json: ["loginId": "nobody", "password": "wrongpass1"])
            #expect(wrong.status == 401)
            #expect(unknown.status == 401)
            #expect(wrong.body == unknown.body)
            let missing = try await server.request("POST", "/auth/login", json: ["loginId": "erin"])
            #expect(missing.status == 400)
            #expect(missing.json["field"] as? String == "password")
        }
    }

    @Test("repeated failures are throttled with 429 and Retry-After")
    func throttling() async throws {
        let configuration = AccountServerConfiguration(
            port: 0, bcryptCost: 4, api: .init(throttle: .init(maximumFailures: 3, lockout: .seconds(120))))
        try await withServer(configuration: configuration) { server in
            _ = try await server.signup("frank")
            for _ in 0..<3 {
                let failure = try await server.request("POST", "/auth/login", json: ["loginId": "frank", "password": "wrongpass1"])
                #expect(failure.status == 401)
            }
            for password in ["wrongpass1", "passw0rd!"] {
                let throttled = try await server.request("POST", "/auth/login", json: ["loginId": "FRANK", "password": password])
                #expect(throttled.status == 429)
                #expect(throttled.errorCode == "too_many_attempts")
                let retryAfter = try #require(throttled.header("Retry-After").flatMap(Int.init))
                #expect((1...120).contains(retryAfter))
            }
            // Other loginIds are unaffected.
            _ = try await server.signup("grace")
            _ = try await server.login("grace")
        }
    }

    @Test("bearer problems: missing, wrong type, malformed, expired, bad signature")
    func bearerErrors() async throws {
        try await withServer { server in
            _ = try await server.signup("heidi")
            let (access, refresh) = try await server.login("heidi")
            let missing = try await server.request("GET", "/accounts/me")
            #expect(missing.status == 401)
            #expect(missing.errorCode == "missing_token")
            #expect(missing.header("WWW-Authenticate") == "Bearer")

            let wrongType = try await server.request("GET", "/accounts/me", bearer: refresh)
            #expect(wrongType.status == 401)
            #expect(wrongType.errorCode == "invalid_token")
            #expect(wrongType.message == "access token required")

            let garbage = try await server.request("GET", "/accounts/me", bearer: "abc")
            #expect(garbage.message == "token must have three dot-separated segments")

            let id = try #require(try await server.server.store.storedAccount(loginId: "heidi")).account.id
            let old = try await server.server.jwt.issue(.access, subject: String(id), now: Date(timeIntervalSinceNow: -7200))
            let expired = try await server.request("GET", "/accounts/me", bearer: old.token)
            #expect(expired.message == "token has expired")

            var tampered = Array(access.utf8)
            tampered[tampered.count - 5] = tampered[tampered.count - 5] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            let badSignature = try await server.request("GET", "/accounts/me", bearer: String(decoding: tampered, as: UTF8.self))
            #expect(badSignature.message == "token signature is invalid")

            let accessAsRefresh = try await server.request("POST", "/auth/token/refresh", json: ["refreshToken": access])
            #expect(accessAsRefresh.status == 401)
            #expect(accessAsRefresh.message == "refresh token required")
            let missingField = try await server.request("POST", "/auth/token/refresh", json: [:])
            #expect(missingField.status == 400)
            #expect(missingField.json["field"] as? String == "refreshToken")
        }
    }
}
