#!/usr/bin/env python3
"""Regenerates vectors.json: JWT test vectors for Parley's HS256 access/refresh tokens.

Standard library only (hmac, hashlib, base64, json) so any implementation can rebuild or extend the file.
Run:  python3 Fixtures/jwt/generate.py   (writes vectors.json beside this script; deterministic output)
See README.md beside this script for the format.
"""
import base64
import hashlib
import hmac
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))

# A fixed 41-byte test key (never used outside tests) and a different key for the wrong-key case.
KEY = b"parley-jwt-vector-key-0123456789-abcdefgh"
OTHER_KEY = b"another-key-that-is-32-bytes-or-longer!!"
NOW = 1767225600  # 2026-01-01T00:00:00Z
IAT = NOW - 60
ACCESS_EXP = IAT + 30 * 60
REFRESH_EXP = IAT + 7 * 24 * 3600
SUB = "42"
JTI = "0b8f3c2e-6d1a-4f5e-9c7b-2a4d6e8f0a1c"
MAX_TOKEN_BYTES = 8192


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def compact_json(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign_segments(header_segment: str, payload_segment: str, key: bytes = KEY) -> str:
    signing_input = (header_segment + "." + payload_segment).encode("ascii")
    return b64url(hmac.new(key, signing_input, hashlib.sha256).digest())


def make_token(header=None, claims=None, key: bytes = KEY, raw_header: bytes = None, raw_payload: bytes = None) -> str:
    """Signs with HS256 whatever the header claims, so relabelled algorithms carry a valid HS256 MAC."""
    header_bytes = raw_header if raw_header is not None else compact_json(header if header is not None else {"alg": "HS256", "typ": "JWT"})
    payload_bytes = raw_payload if raw_payload is not None else compact_json(claims)
    header_segment, payload_segment = b64url(header_bytes), b64url(payload_bytes)
    return header_segment + "." + payload_segment + "." + sign_segments(header_segment, payload_segment, key)


def claims(kind="access", **overrides):
    exp = ACCESS_EXP if kind == "access" else REFRESH_EXP
    value = {"sub": SUB, "iat": IAT, "exp": exp, "jti": JTI, "token_type": kind}
    for name, replacement in overrides.items():
        if replacement is DROP:
            value.pop(name, None)
        else:
            value[name] = replacement
    return value


DROP = object()
HEX_KEY = {"encoding": "hex", "value": KEY.hex()}


def valid(name, token, expected_type="access", now=NOW, claims_out=None, leeway=0, key=HEX_KEY, source="parley", note=None):
    return vector(name, token, expected_type, now, {"valid": True, "claims": claims_out}, leeway, key, source, note)


def invalid(name, token, error, expected_type="access", now=NOW, leeway=0, key=HEX_KEY, source="parley", note=None):
    return vector(name, token, expected_type, now, {"valid": False, "error": error}, leeway, key, source, note)


def vector(name, token, expected_type, now, expected, leeway, key, source, note):
    entry = {"name": name, "source": source, "key": key, "token": token, "now": now, "leewaySeconds": leeway,
             "maxTokenBytes": MAX_TOKEN_BYTES, "expectedType": expected_type, "expected": expected}
    if note:
        entry["note"] = note
    return entry


def rfc_vectors():
    out = []
    # RFC 7515 Appendix A.1: the header and payload contain CRLF; the segments are copied byte-exact from the RFC.
    a1_key = {"encoding": "base64url",
              "value": "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}
    a1 = ("eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
          ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
          ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
    header, payload, signature = a1.split(".")
    assert b64url_decode(header) == b'{"typ":"JWT",\r\n "alg":"HS256"}'
    assert sign_segments(header, payload, b64url_decode(a1_key["value"])) == signature, "RFC 7515 A.1 MAC mismatch"
    a1_claims = json.loads(b64url_decode(payload))
    out.append(valid("rfc7515-a1-jws-before-exp", a1, expected_type=None, now=1300819300, claims_out=a1_claims,
                     key=a1_key, source="RFC 7515 Appendix A.1",
                     note="JWS profile: header+signature+exp; CRLF inside header and payload kept byte-exact"))
    out.append(invalid("rfc7515-a1-jws-after-exp", a1, "expired", expected_type=None, now=1300819380,
                       key=a1_key, source="RFC 7515 Appendix A.1", note="exp == now is expired"))
    out.append(invalid("rfc7515-a1-as-parley-access", a1, "missing_subject", now=1300819300, key=a1_key,
                       source="RFC 7515 Appendix A.1", note="signature is fine, but it has no sub"))
    out.append(invalid("rfc7515-a1-wrong-key", a1, "bad_signature", expected_type=None, now=1300819300,
                       source="RFC 7515 Appendix A.1"))

    # RFC 7520 section 4.4 (HMAC-SHA2 integrity protection): the payload is prose, not JSON.
    k44 = {"encoding": "base64url", "value": "hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg"}
    t44 = ("eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9"
           ".SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4"
           ".s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0")
    h44, p44, s44 = t44.split(".")
    assert sign_segments(h44, p44, b64url_decode(k44["value"])) == s44, "RFC 7520 4.4 MAC mismatch"
    out.append(valid("rfc7520-4.4-jws", t44, expected_type=None, now=NOW, claims_out=None, key=k44,
                     source="RFC 7520 section 4.4", note="payload is not JSON: valid JWS, claims null"))
    out.append(invalid("rfc7520-4.4-as-parley-access", t44, "malformed", now=NOW, key=k44,
                       source="RFC 7520 section 4.4", note="a Parley token's payload must be a JSON object"))
    tampered44 = h44 + "." + p44[:-1] + ("x" if p44[-1] != "x" else "y") + "." + s44
    out.append(invalid("rfc7520-4.4-payload-tampered", tampered44, "bad_signature", expected_type=None, key=k44,
                       source="RFC 7520 section 4.4"))
    return out


def parley_vectors():
    out = []
    access = make_token(claims=claims("access"))
    refresh = make_token(claims=claims("refresh"))
    out.append(valid("issued-access", access, claims_out=claims("access")))
    out.append(valid("issued-refresh", refresh, expected_type="refresh", claims_out=claims("refresh")))
    no_typ = make_token(header={"alg": "HS256"}, claims=claims())
    out.append(valid("access-without-typ-header", no_typ, claims_out=claims()))
    lower_typ = make_token(header={"alg": "HS256", "typ": "jwt"}, claims=claims())
    out.append(valid("typ-is-case-insensitive", lower_typ, claims_out=claims(), note="RFC 7515 4.1.9"))
    with_kid = make_token(header={"typ": "JWT", "kid": "k1", "alg": "HS256"}, claims=claims())
    out.append(valid("extra-header-members", with_kid, claims_out=claims()))
    extra = claims(roles=["user", {"nested": [1, 2.5, None, True]}], iss="parley")
    out.append(valid("extra-claims-nested", make_token(claims=extra), claims_out=extra))
    unicode_sub = claims(sub="\u00e9l\u00e8ve-\U0001F600")
    escaped = compact_json(unicode_sub).decode("utf-8")
    escaped = escaped.replace("\u00e9", "\\u00e9").replace("\U0001F600", "\\ud83d\\ude00")
    out.append(valid("unicode-escapes-in-sub", make_token(raw_payload=escaped.encode("utf-8")), claims_out=unicode_sub))
    spaced = b'{ "alg" : "HS256" ,\r\n\t"typ" : "JWT" }'
    out.append(valid("whitespace-in-header", make_token(raw_header=spaced, claims=claims()), claims_out=claims()))
    out.append(valid("expired-within-leeway", make_token(claims=claims(exp=NOW - 3)), leeway=5,
                     claims_out=claims(exp=NOW - 3)))
    out.append(valid("nbf-within-leeway", make_token(claims=claims(nbf=NOW + 3)), leeway=5,
                     claims_out=claims(nbf=NOW + 3)))
    out.append(valid("nbf-in-past", make_token(claims=claims(nbf=NOW - 10)), claims_out=claims(nbf=NOW - 10)))
    out.append(valid("fractional-exp", make_token(claims=claims(exp=NOW + 0.5)), claims_out=claims(exp=NOW + 0.5)))
    return out


def negative_vectors():
    out = []
    access = make_token(claims=claims("access"))
    header_segment, payload_segment, signature_segment = access.split(".")
    c = claims()

    def relabel(alg):
        return make_token(header={"alg": alg, "typ": "JWT"}, claims=c)

    none_header = b64url(compact_json({"alg": "none", "typ": "JWT"}))
    out.append(invalid("alg-none-unsigned", none_header + "." + payload_segment + ".", "algorithm_not_allowed"))
    out.append(invalid("alg-none-with-hs256-signature", relabel("none"), "algorithm_not_allowed"))
    out.append(invalid("alg-None-mixed-case", relabel("None"), "algorithm_not_allowed"))
    out.append(invalid("alg-relabelled-RS256", relabel("RS256"), "algorithm_not_allowed",
                       note="valid HS256 MAC over a header that says RS256"))
    out.append(invalid("alg-relabelled-HS512", relabel("HS512"), "algorithm_not_allowed"))
    out.append(invalid("alg-relabelled-HS384", relabel("HS384"), "algorithm_not_allowed"))
    out.append(invalid("alg-lowercase-hs256", relabel("hs256"), "algorithm_not_allowed"))
    out.append(invalid("alg-missing", make_token(header={"typ": "JWT"}, claims=c), "algorithm_not_allowed"))
    out.append(invalid("alg-not-a-string", make_token(header={"alg": 256, "typ": "JWT"}, claims=c),
                       "algorithm_not_allowed"))
    out.append(invalid("alg-duplicated", make_token(raw_header=b'{"alg":"HS256","alg":"none"}', claims=c),
                       "malformed", note="duplicate member names are rejected"))
    out.append(invalid("typ-wrong", make_token(header={"alg": "HS256", "typ": "JWS"}, claims=c),
                       "header_type_not_allowed"))
    out.append(invalid("typ-at+jwt", make_token(header={"alg": "HS256", "typ": "at+jwt"}, claims=c),
                       "header_type_not_allowed"))
    out.append(invalid("typ-not-a-string", make_token(header={"alg": "HS256", "typ": 1}, claims=c),
                       "header_type_not_allowed"))
    out.append(invalid("crit-header", make_token(header={"alg": "HS256", "crit": ["exp"]}, claims=c), "malformed"))

    tampered_payload = b64url(compact_json(claims(sub="1")))
    out.append(invalid("payload-tampered", header_segment + "." + tampered_payload + "." + signature_segment,
                       "bad_signature"))
    flipped = bytearray(b64url_decode(signature_segment))
    flipped[10] ^= 0x01
    out.append(invalid("signature-tampered", header_segment + "." + payload_segment + "." + b64url(bytes(flipped)),
                       "bad_signature"))
    out.append(invalid("signature-stripped", header_segment + "." + payload_segment + ".", "bad_signature"))
    out.append(invalid("signature-truncated",
                       header_segment + "." + payload_segment + "." + b64url(b64url_decode(signature_segment)[:16]),
                       "bad_signature"))
    out.append(invalid("signature-non-canonical-base64url",
                       header_segment + "." + payload_segment + "." + non_canonical(signature_segment),
                       "malformed", note="last character carries non-zero unused bits: same bytes, other text"))
    out.append(invalid("wrong-key", make_token(claims=c, key=OTHER_KEY), "bad_signature"))

    out.append(invalid("expired", make_token(claims=claims(exp=NOW - 1)), "expired"))
    out.append(invalid("expired-exactly-now", make_token(claims=claims(exp=NOW)), "expired"))
    out.append(invalid("expired-beyond-leeway", make_token(claims=claims(exp=NOW - 6)), "expired", leeway=5))
    out.append(invalid("not-yet-valid", make_token(claims=claims(nbf=NOW + 60)), "not_yet_valid"))
    out.append(invalid("not-yet-valid-beyond-leeway", make_token(claims=claims(nbf=NOW + 6)), "not_yet_valid",
                       leeway=5))
    out.append(invalid("refresh-as-access", make_token(claims=claims("refresh")), "wrong_token_type"))
    out.append(invalid("access-as-refresh", access, "wrong_token_type", expected_type="refresh"))
    out.append(invalid("unknown-token-type", make_token(claims=claims(token_type="id")), "wrong_token_type"))
    out.append(invalid("missing-sub", make_token(claims=claims(sub=DROP)), "missing_subject"))
    out.append(invalid("empty-sub", make_token(claims=claims(sub="")), "missing_subject"))
    out.append(invalid("sub-not-a-string", make_token(claims=claims(sub=42)), "missing_subject"))
    out.append(invalid("missing-token-type", make_token(claims=claims(token_type=DROP)), "missing_claim"))
    out.append(invalid("missing-exp", make_token(claims=claims(exp=DROP)), "missing_claim"))
    out.append(invalid("exp-not-a-number", make_token(claims=claims(exp=str(ACCESS_EXP))), "missing_claim"))
    out.append(invalid("missing-iat", make_token(claims=claims(iat=DROP)), "missing_claim"))
    out.append(invalid("missing-jti", make_token(claims=claims(jti=DROP)), "missing_claim"))
    out.append(invalid("nbf-not-a-number", make_token(claims=claims(nbf="soon")), "missing_claim"))

    out.append(invalid("empty-token", "", "malformed"))
    out.append(invalid("one-segment", header_segment, "malformed"))
    out.append(invalid("two-segments", header_segment + "." + payload_segment, "malformed"))
    out.append(invalid("four-segments", access + ".AAAA", "malformed"))
    out.append(invalid("bad-base64url-header", "eyJhbGciOiJIUzI1NiJ9+" + "." + payload_segment + "." + signature_segment,
                       "malformed", note="'+' is not in the url-safe alphabet"))
    padded = b64url(compact_json({"alg": "HS256"})) + "="
    out.append(invalid("padded-base64url-header", make_token_from_segments(padded, payload_segment), "malformed"))
    out.append(invalid("bad-base64url-payload", make_token_from_segments(header_segment, payload_segment + "!"),
                       "malformed"))
    out.append(invalid("header-not-json", make_token(raw_header=b"alg=HS256", claims=c), "malformed"))
    out.append(invalid("header-json-array", make_token(raw_header=b'["HS256"]', claims=c), "malformed"))
    out.append(invalid("header-trailing-garbage", make_token(raw_header=b'{"alg":"HS256"}x', claims=c), "malformed"))
    out.append(invalid("payload-not-json", make_token(raw_payload=b"not json"), "malformed"))
    out.append(invalid("payload-invalid-utf8", make_token(raw_payload=b'{"sub":"\xff\xfe"}'), "malformed"))
    huge = make_token(claims=claims(padding="x" * (MAX_TOKEN_BYTES)))
    out.append(invalid("huge-token", huge, "token_too_large", note="longer than maxTokenBytes: rejected unparsed"))
    return out


def make_token_from_segments(header_segment, payload_segment, key=KEY):
    """Signs segments as given, so only the encoding defect remains."""
    return header_segment + "." + payload_segment + "." + sign_segments(header_segment, payload_segment, key)


def non_canonical(segment):
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    index = alphabet.index(segment[-1])
    replacement = alphabet[index | 1] if index % 2 == 0 else alphabet[index & ~1]
    changed = segment[:-1] + replacement
    assert b64url_decode(changed) == b64url_decode(segment)
    return changed


def main():
    vectors = rfc_vectors() + parley_vectors() + negative_vectors()
    names = [v["name"] for v in vectors]
    assert len(names) == len(set(names)), "duplicate vector names"
    document = {
        "format": "parley-jwt-vectors/1",
        "description": "HS256 JWT vectors for Parley access/refresh tokens; see README.md",
        "vectors": vectors,
    }
    with open(os.path.join(HERE, "vectors.json"), "w", encoding="utf-8") as output:
        json.dump(document, output, indent=2, ensure_ascii=False)
        output.write("\n")
    negatives = sum(1 for v in vectors if not v["expected"]["valid"])
    print(f"wrote {len(vectors)} vectors ({negatives} negative)")


if __name__ == "__main__":
    main()
