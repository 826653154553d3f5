/// STOMP header value encoding ("Value Encoding" in the 1.1 and 1.2 specs): the one home of the escape rules,
/// used by ``StompEncoder`` and ``StompDecoder`` and by code that writes frame heads itself.
///
/// 1.0 has no escaping; 1.1 escapes line feed (`\n`), colon (`\c`) and backslash (`\\`); 1.2 also carriage
/// return (`\r`). CONNECT and CONNECTED headers are never escaped whatever the version
/// (``StompCommand/escapesHeaders``): callers writing those pass them through unchanged.
public enum StompHeaderEscaping {
    /// Whether `value` goes on the wire unchanged under `version`: the common case, checked without allocating.
    public static func isPlain(_ value: String, version: StompVersion) -> Bool {
        if version == .v1_0 { return true }
        for byte in value.utf8 where escapeLetter(for: byte, version: version) != nil { return false }
        return true
    }

    /// `value` as it goes on the wire under `version`; `value` itself when ``isPlain(_:version:)``.
    public static func escape(_ value: String, version: StompVersion) -> String {
        if isPlain(value, version: version) { return value }
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count + 8)
        for byte in value.utf8 {
            if let letter = escapeLetter(for: byte, version: version) {
                out.append(backslash)
                out.append(letter)
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The value a wire header `text` stands for under `version`; throws ``StompDecodingError/Kind/invalidEscape``
    /// for a backslash not followed by an escape the version defines.
    public static func unescape(_ text: String, version: StompVersion) throws(StompDecodingError) -> String {
        guard version != .v1_0, text.utf8.contains(backslash) else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var bytes = text.utf8.makeIterator()
        while let byte = bytes.next() {
            guard byte == backslash else {
                out.append(byte)
                continue
            }
            guard let letter = bytes.next() else {
                throw StompDecodingError(.invalidEscape, "header ends with a lone backslash")
            }
            guard let unescaped = unescapedByte(forLetter: letter, version: version) else {
                throw StompDecodingError(.invalidEscape, "undefined escape sequence in a header for STOMP \(version.rawValue)")
            }
            out.append(unescaped)
        }
        // Escapes only replace ASCII bytes, so valid UTF-8 in stays valid UTF-8 out.
        return String(decoding: out, as: UTF8.self)
    }

    static let backslash = UInt8(ascii: "\\")

    /// The letter after the backslash that stands for `byte` under `version`, or nil when `byte` is written as is.
    @inline(__always)
    static func escapeLetter(for byte: UInt8, version: StompVersion) -> UInt8? {
        switch byte {
        case 0x0A: version == .v1_0 ? nil : UInt8(ascii: "n")
        case 0x3A: version == .v1_0 ? nil : UInt8(ascii: "c")
        case 0x5C: version == .v1_0 ? nil : backslash
        // STOMP 1.1 has no escape for CR; it is written raw, as 1.1 peers expect.
        case 0x0D: version == .v1_2 ? UInt8(ascii: "r") : nil
        default: nil
        }
    }

    /// The byte `\<letter>` stands for under `version`, or nil when the version defines no such escape.
    @inline(__always)
    static func unescapedByte(forLetter letter: UInt8, version: StompVersion) -> UInt8? {
        switch letter {
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "c"): 0x3A
        case backslash: backslash
        case UInt8(ascii: "r") where version >= .v1_2: 0x0D
        default: nil
        }
    }
}
