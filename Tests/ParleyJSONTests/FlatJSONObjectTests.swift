import ParleyJSON
import Testing

@Suite("FlatJSONObject")
struct FlatJSONObjectTests {
    @Test("accepts one strict JSON object, rejects everything else and repeated keys")
    func parsing() {
        func parse(_ text: String) -> FlatJSONObject? { FlatJSONObject(parsing: Array(text.utf8)) }
        #expect(parse(#"{"a":"x\"y\u00e9\ud83d\ude00","b":-1.5e2,"c":[{"d":null}],"e":true}"#)?["a"] == .string("x\"yé😀"))
        #expect(parse(#"{"b":-1.5e2}"#)?["b"] == .number(-150))
        #expect(parse(#"{"exp":1764064800}"#)?["exp"]?.numberValue == 1_764_064_800)
        // Nesting is skipped without recursion: depth costs nothing and cannot exhaust the stack.
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(parse("{\"a\":" + deep + "}")?["a"] == .composite)
        #expect(parse("{}") != nil)
        #expect(parse(" { } ") != nil)
        for bad in [
            "", "[]", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{\"a\":01}", "{\"a\":1}}", "{'a':1}",
            "{\"a\":\"\u{01}\"}", "{\"a\":\"\\x\"}", "{\"a\":\"\\ud83d\"}", "{\"a\":1,\"a\":2}", "{\"a\":tru}",
            String(repeating: "[", count: 100) + "{",
            "{\"a\":" + String(repeating: "[", count: 40) + String(repeating: "]", count: 39) + "}",
        ] {
            #expect(parse(bad) == nil, "accepted \(bad.debugDescription)")
        }
    }
}
