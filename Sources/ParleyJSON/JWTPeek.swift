/// Reads the claims of a compact JWS (`header.payload.signature`) without verifying it.
///
/// Only for clients that need to know who a token names, e.g. the principal a server will route user destinations
/// by: the server verifies, a client merely looks. Anything that must trust a token uses ParleyAuth's verifier.
public enum JWTPeek {
    /// The claim set of `token`; nil unless it has exactly three segments and its payload is strict base64url of
    /// one flat JSON object. The signature segment may be empty (an unsigned `alg: none` token).
    public static func claims(of token: String) -> FlatJSONObject? {
        let segments = token.split(separator: ".", maxSplits: 3, omittingEmptySubsequences: false)
        guard segments.count == 3, let payload = Base64URL.decode(String(segments[1])) else { return nil }
        return FlatJSONObject(parsing: payload)
    }

    /// The `sub` claim of `token` as text (a string, or an integer written as digits); nil when absent or of
    /// another kind.
    public static func subject(of token: String) -> String? {
        claims(of: token)?["sub"]?.idValue
    }
}
