/// The top-level members of one JSON object such as a JWT header or claim set, read with the strict
/// ``FlatJSONReader``.
///
/// Foundation's decoders dominate the cost of verifying a token, and a JWT needs only the top-level members of
/// one object. Nested objects/arrays are recorded as `.composite`. Duplicate top-level keys are rejected: with
/// duplicates different parsers could disagree about, say, which `alg` a header carries.
public struct FlatJSONObject: Sendable {
    /// Members in document order. A claim set has a handful, so a linear scan beats hashing.
    public private(set) var members: [(key: String, value: JSONScalar)] = []

    /// The value of the first member named `key`; nil when there is none.
    public subscript(key: String) -> JSONScalar? {
        for member in members where member.key == key { return member.value }
        return nil
    }

    /// Parses `bytes` as exactly one JSON object; `nil` if it is anything else or repeats a key.
    public init?(parsing bytes: [UInt8]) {
        var members: [(key: String, value: JSONScalar)] = []
        var duplicate = false
        let parsed: Bool = bytes.withUnsafeBytes { buffer in
            var reader = FlatJSONReader(bytes: buffer)
            do {
                try reader.readObject { key, value in
                    if members.contains(where: { $0.key == key }) { duplicate = true }
                    members.append((key, value))
                }
                return true
            } catch {
                return false
            }
        }
        guard parsed, !duplicate else { return nil }
        self.members = members
    }
}
