import ParleyJSON
import Testing

@Suite("JWTPeek")
struct JWTPeekTests {
    /// A compact token with `claims` as payload and an arbitrary (unchecked) signature.
    func token(_ claims: String, signature: String = "c2ln") -> String {
        Base64URL.encode(Array(#"{"alg":"HS256"}"#.utf8)) + "." + Base64URL.encode(Array(claims.utf8)) + "." + signature
    }

    @Test("reads the subject and other claims without checking the signature")
    func readsClaims() throws {
        let token = token(#"{"sub":"42","token_type":"access","exp":1764064800}"#)
        #expect(JWTPeek.subject(of: token) == "42")
        let claims = try #require(JWTPeek.claims(of: token))
        #expect(claims["token_type"] == .string("access"))
        #expect(claims["exp"] == .integer(1_764_064_800))
        // Unsigned tokens (`alg: none`) end with an empty signature segment and are still read.
        #expect(JWTPeek.subject(of: self.token(#"{"sub":"7"}"#, signature: "")) == "7")
    }

    @Test("a numeric subject reads as its digits; other kinds are not a subject")
    func subjectKinds() {
        #expect(JWTPeek.subject(of: token(#"{"sub":42}"#)) == "42")
        #expect(JWTPeek.subject(of: token(#"{"sub":4.5}"#)) == nil)
        #expect(JWTPeek.subject(of: token(#"{"sub":null}"#)) == nil)
        #expect(JWTPeek.subject(of: token(#"{"iss":"x"}"#)) == nil)
    }

    @Test("anything that is not three segments around a base64url JSON object is nil")
    func rejectsNonTokens() {
        let payload = Base64URL.encode(Array(#"{"sub":"42"}"#.utf8))
        for text in [
            "garbage", "", "e30.\(payload)", "e30.\(payload).sig.extra", "e30..sig", "e30.\(payload)=.sig",
            "e30.\(Base64URL.encode(Array("[1]".utf8))).sig", "e30.\(Base64URL.encode(Array("not json".utf8))).sig",
        ] {
            #expect(JWTPeek.claims(of: text) == nil, "read \(text.debugDescription)")
        }
    }
}
