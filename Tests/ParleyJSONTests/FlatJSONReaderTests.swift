import ParleyJSON
import Testing

@Suite struct FlatJSONReaderTests {
    func members(_ text: String) -> [(String, JSONScalar)]? {
        var out: [(String, JSONScalar)] = []
        let ok: Bool = Array(text.utf8).withUnsafeBytes { bytes in
            var reader = FlatJSONReader(bytes: bytes)
            do {
                try reader.readObject { out.append(($0, $1)) }
                return true
            } catch {
                return false
            }
        }
        return ok ? out : nil
    }

    @Test func membersComeInDocumentOrderWithTheirKinds() throws {
        let read = try #require(members(#" {"s":"x\u00e9\ud83d\ude00","i":-42,"n":1.5e2,"t":true,"f":false,"z":null,"c":[{"k":"]"}],"o":{}} "#))
        #expect(read.map(\.0) == ["s", "i", "n", "t", "f", "z", "c", "o"])
        #expect(read.map(\.1) == [
            .string("xé😀"), .integer(-42), .number(150), .bool(true), .bool(false), .null, .composite, .composite,
        ])
    }

    @Test func numbersBeyondInt64AreDoubles() throws {
        let read = try #require(members(#"{"big":123456789012345678901234567890}"#))
        #expect(read.first?.1.numberValue == 123456789012345678901234567890.0)
        #expect(read.first?.1.idValue == nil)
        #expect(JSONScalar.integer(7).idValue == "7")
        #expect(JSONScalar.string("a").numberValue == nil)
    }

    @Test(arguments: [
        "", " ", "[]", "\"s\"", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{\"a\":01}", "{\"a\":1}}", "{'a':1}",
        "{\"a\":-}", "{\"a\":1.}", "{\"a\":1e}", "{\"a\":\"\u{01}\"}", "{\"a\":\"\\x\"}", "{\"a\":\"\\ud83d\"}",
        "{\"a\":\"\\ude00\"}", "{\"a\":tru}", "{\"a\":nul}", "{\"a\":[1,2}", "{\"a\":\"unterminated}",
    ])
    func refusesWhatIsNotOneStrictObject(text: String) {
        #expect(members(text) == nil, "accepted \(text.debugDescription)")
    }

    @Test func invalidUTF8IsRefusedNotRepaired() {
        var bytes = Array(#"{"a":"x"#.utf8)
        bytes += [0xC3, 0x28]  // a lead byte followed by a non-continuation byte
        bytes += Array(#""}"#.utf8)
        let refused: Bool = bytes.withUnsafeBytes { raw in
            var reader = FlatJSONReader(bytes: raw)
            do {
                try reader.readObject { _, _ in }
                return false
            } catch {
                return true
            }
        }
        #expect(refused)
    }

    @Test func deepNestingIsSkippedWithoutRecursion() throws {
        let deep = String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000)
        let read = try #require(members("{\"a\":\(deep),\"b\":1}"))
        #expect(read.map(\.1) == [.composite, .integer(1)])
    }
}
