import ParleyJSON
import Testing

@Suite("Base64URL")
struct Base64URLTests {
    @Test("strict base64url round trips and rejects non-canonical text")
    func base64url() {
        for length in 0..<70 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let text = Base64URL.encode(bytes)
            #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
            #expect(Base64URL.decode(text) == bytes)
        }
        for length in [0, 1, 2, 3, 31, 32, 33] {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 91 &+ 5) }
            let text = Array(Base64URL.encode(bytes).utf8)
            bytes.withUnsafeBytes { raw in
                text.withUnsafeBytes { #expect(Base64URL.constantTimeMatches(bytes: raw, text: $0)) }
                (text + [UInt8(ascii: "A")]).withUnsafeBytes { #expect(!Base64URL.constantTimeMatches(bytes: raw, text: $0)) }
                if !text.isEmpty {
                    var altered = text
                    altered[altered.count - 1] = altered.last == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
                    altered.withUnsafeBytes { #expect(!Base64URL.constantTimeMatches(bytes: raw, text: $0)) }
                }
            }
        }
        #expect(Base64URL.decode("QQ") == [0x41])
        #expect(Base64URL.decode("QR") == nil, "non-zero unused bits")
        #expect(Base64URL.decode("QQ==") == nil)
        #expect(Base64URL.decode("Q") == nil)
        #expect(Base64URL.decode("a b c d") == nil)
    }

    @Test("encodes the RFC 4648 test vectors in the url-safe alphabet without padding")
    func vectors() {
        let vectors: [(String, String)] = [("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy")]
        for (plain, encoded) in vectors {
            #expect(Base64URL.encode(Array(plain.utf8)) == encoded)
            #expect(Base64URL.decode(encoded) == Array(plain.utf8))
        }
        // 0xFB 0xFF is `+/8` in standard base64: the url-safe alphabet has `-` and `_` instead.
        #expect(Base64URL.encode([0xFB, 0xFF]) == "-_8")
        #expect(Base64URL.decode("+/8") == nil)
    }
}
