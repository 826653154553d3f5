#!/usr/bin/env python3
"""Writes the golden STOMP frame fixtures: NAME.stomp (exact wire bytes) and NAME.json (expected outcome).

Run from anywhere: `python3 Fixtures/frames/generate.py`. It deletes and rewrites every *.stomp / *.json pair
it owns, so the folder always matches this script. Expected frames are written out by hand here, never
produced by the Parley decoder, so the fixtures check the decoder instead of mirroring it.
"""
import base64
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from captured import CAPTURED  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = []


def F(command, headers=(), body=b""):
    """Expected frame JSON: headers as [name, value] pairs in wire order, body as text or base64."""
    if isinstance(body, str):
        body = body.encode()
    frame = {"command": command, "headers": [[n, v] for n, v in headers]}
    try:
        frame["body"] = body.decode("utf-8")
    except UnicodeDecodeError:
        frame["bodyBase64"] = base64.b64encode(body).decode()
    return frame


HB = {"heartBeat": True}


def case(name, wire, frames, description, error=None, version="1.2", limits=None, incomplete=False):
    if isinstance(wire, str):
        wire = wire.encode()
    assert all(c["name"] != name for c in CASES), name
    expected = {"description": description, "version": version}
    if limits:
        expected["limits"] = limits
    expected["frames"] = frames
    if error:
        expected["error"] = error
    if incomplete:
        expected["incomplete"] = True
    CASES.append({"name": name, "wire": wire, "expected": expected})


# ---------------------------------------------------------------------------------------------------------------
# Basic frames, bodies and content-length
case("send-text-body", "SEND\ndestination:/queue/a\n\nhello\0",
     [F("SEND", [("destination", "/queue/a")], "hello")],
     "Body without content-length ends at the first NUL.")
case("send-content-length", "SEND\ndestination:/queue/a\ncontent-length:5\n\nhello\0",
     [F("SEND", [("destination", "/queue/a"), ("content-length", "5")], "hello")],
     "Body length given by content-length.")
case("send-content-length-nul-in-body", b"SEND\ndestination:/q\ncontent-length:5\n\na\0b\0c\0",
     [F("SEND", [("destination", "/q"), ("content-length", "5")], b"a\0b\0c")],
     "A content-length body may contain NUL octets.")
case("send-binary-body", b"SEND\ndestination:/q\ncontent-length:256\n\n" + bytes(range(256)) + b"\0",
     [F("SEND", [("destination", "/q"), ("content-length", "256")], bytes(range(256)))],
     "Every octet value in a body; not UTF-8, so the JSON uses bodyBase64.")
case("send-invalid-utf8-body", b"SEND\ndestination:/q\n\n\xff\xfe\x80\0",
     [F("SEND", [("destination", "/q")], b"\xff\xfe\x80")],
     "Bodies are bytes: invalid UTF-8 is fine (bodyBase64).")
case("send-empty-body", "SEND\ndestination:/q\n\n\0", [F("SEND", [("destination", "/q")])],
     "Empty body: NUL right after the blank line.")
case("send-content-length-zero", "SEND\ndestination:/q\ncontent-length:0\n\n\0",
     [F("SEND", [("destination", "/q"), ("content-length", "0")])], "content-length:0 is an empty body.")
case("send-no-headers", "SEND\n\nx\0", [F("SEND", [], "x")], "A frame with no header lines at all.")
case("send-content-length-leading-zeros", "SEND\ncontent-length:003\n\nabc\0",
     [F("SEND", [("content-length", "003")], "abc")], "Leading zeros are still a decimal integer.")
case("send-multiline-body", "SEND\ndestination:/q\n\nline1\nline2\r\n\nline4\0",
     [F("SEND", [("destination", "/q")], "line1\nline2\r\n\nline4")], "EOLs inside a body are body bytes.")
case("send-large-body-64k", b"SEND\ndestination:/q\ncontent-length:65536\n\n" + b"x" * 65536 + b"\0",
     [F("SEND", [("destination", "/q"), ("content-length", "65536")], b"x" * 65536)],
     "A 64 KiB body within the default 1 MiB limits.")
json_body = '{"roomId":"1","content":"hi ✓","x":1}'
json_length = str(len(json_body.encode()))
case("send-json-body", 'SEND\ndestination:/app/chat.sendMessage\ncontent-type:application/json\ncontent-length:' + json_length + '\n\n' + json_body + '\0',
     [F("SEND", [("destination", "/app/chat.sendMessage"), ("content-type", "application/json"), ("content-length", json_length)], json_body)],
     "content-length counts bytes, not characters (the check mark is 3 bytes).")

# EOLs and heart-beats
case("crlf-line-endings", "SEND\r\ndestination:/q\r\ncontent-length:2\r\n\r\nhi\0",
     [F("SEND", [("destination", "/q"), ("content-length", "2")], "hi")], "CRLF ends every line; the CR is not part of the value.")
case("mixed-line-endings", "MESSAGE\r\ndestination:/q\nmessage-id:1\r\nsubscription:s\n\r\nx\0",
     [F("MESSAGE", [("destination", "/q"), ("message-id", "1"), ("subscription", "s")], "x")], "LF and CRLF may mix.")
case("heartbeat-lf", "\n", [HB], "A lone LF is a heart-beat.")
case("heartbeat-crlf", "\r\n", [HB], "CRLF is one heart-beat.")
case("heartbeats-before-frame", "\n\r\n\nSEND\ndestination:/q\n\nx\0",
     [HB, HB, HB, F("SEND", [("destination", "/q")], "x")], "EOLs before a frame are heart-beats.")
case("heartbeats-after-frame", "SEND\ndestination:/q\n\nx\0\n\r\n",
     [F("SEND", [("destination", "/q")], "x"), HB, HB], "EOLs after the NUL are heart-beats.")
case("heartbeat-cr-pending", "\r", [], "A CR alone may still become a CRLF heart-beat: wait for more.", incomplete=True)
case("many-frames-one-read",
     "SEND\ndestination:/a\n\n1\0SEND\ndestination:/b\ncontent-length:1\n\n2\0\nSUBSCRIBE\nid:0\ndestination:/c\n\n\0",
     [F("SEND", [("destination", "/a")], "1"), F("SEND", [("destination", "/b"), ("content-length", "1")], "2"), HB,
      F("SUBSCRIBE", [("id", "0"), ("destination", "/c")])], "Several frames and a heart-beat in one read.")
case("frame-after-content-length-body", b"SEND\ncontent-length:3\n\na\0c\0SEND\n\nz\0",
     [F("SEND", [("content-length", "3")], b"a\0c"), F("SEND", [], "z")], "Decoding resumes right after the NUL.")

# Headers
case("header-value-not-trimmed", "SEND\ndestination: /q \nx-pad:\t tab \n\n\0",
     [F("SEND", [("destination", " /q "), ("x-pad", "\t tab ")])], "Header values keep every space and tab.")
case("header-name-not-trimmed", "SEND\n my-header :v\n\n\0", [F("SEND", [(" my-header ", "v")])],
     "Header names keep spaces too.")
case("header-value-empty", "SEND\nx-empty:\n\n\0", [F("SEND", [("x-empty", "")])], "An empty value is allowed.")
case("header-value-with-raw-colon", "SEND\nx-time:12:30:00\n\n\0", [F("SEND", [("x-time", "12:30:00")])],
     "Lenient: a line splits at its first colon; later colons stay in the value (1.0 peers and real brokers send them).")
case("header-repeated-keeps-all", "MESSAGE\nfoo:1\nfoo:2\nfoo:3\n\n\0",
     [F("MESSAGE", [("foo", "1"), ("foo", "2"), ("foo", "3")])], "Repeated headers are all kept, in order (the first one counts).")
case("header-repeated-content-length-first-wins", "SEND\ncontent-length:3\ncontent-length:99\n\nabc\0",
     [F("SEND", [("content-length", "3"), ("content-length", "99")], "abc")], "Only the first content-length is used.")
case("header-repeated-content-length-second-invalid-ignored", "SEND\ncontent-length:1\ncontent-length:abc\n\nz\0",
     [F("SEND", [("content-length", "1"), ("content-length", "abc")], "z")], "A repeated content-length is not interpreted.")
case("header-without-colon", "SEND\ndestination\n\n\0", [], "A header line needs a colon.", error="malformedHeader")
case("header-empty-name", "SEND\n:value\n\n\0", [], "A header name must not be empty.", error="malformedHeader")
case("header-bare-cr-in-value", "SEND\nfoo:a\rb\n\n\0", [], "A CR not followed by LF may not appear in a header line.", error="malformedHeader")
case("header-nul-rejected", b"SEND\nx:a\0b\n\n\0", [], "A NUL inside a header line is rejected (see README).", error="malformedHeader")
case("frame-without-blank-line", "DISCONNECT\nreceipt:1\0SEND\ndestination:/q\n\nx\0", [],
     "A frame that lost its blank line would swallow the next one; the NUL in the header line stops it.", error="malformedHeader")
case("header-utf8", "SEND\nx-name:héllo ✓ 日本\nx-ü:1\n\n\0", [F("SEND", [("x-name", "héllo ✓ 日本"), ("x-ü", "1")])],
     "Headers are UTF-8.")
case("header-invalid-utf8", b"SEND\nx-name:\xff\xfe\n\n\0", [], "Header bytes must be valid UTF-8.", error="invalidUTF8")
case("header-overlong-utf8", b"SEND\nx-name:\xc0\xaf\n\n\0", [], "Overlong UTF-8 encodings are invalid.", error="invalidUTF8")
case("header-invalid-utf8-name", b"SEND\n\xe2\x82:v\n\n\0", [], "A truncated UTF-8 sequence in a name is invalid.", error="invalidUTF8")

# Commands
for command, headers in [
    ("CONNECT", [("accept-version", "1.2"), ("host", "/"), ("login", "guest"), ("passcode", "guest")]),
    ("STOMP", [("accept-version", "1.1,1.2"), ("host", "chat.example")]),
    ("SUBSCRIBE", [("id", "sub-0"), ("destination", "/topic/rooms.1"), ("ack", "client-individual")]),
    ("UNSUBSCRIBE", [("id", "sub-0")]),
    ("ACK", [("id", "m-1")]),
    ("NACK", [("id", "m-1"), ("transaction", "tx1")]),
    ("BEGIN", [("transaction", "tx1")]),
    ("COMMIT", [("transaction", "tx1")]),
    ("ABORT", [("transaction", "tx1")]),
    ("DISCONNECT", [("receipt", "77")]),
    ("CONNECTED", [("version", "1.2")]),
    ("RECEIPT", [("receipt-id", "77")]),
]:
    wire = command + "\n" + "".join(f"{n}:{v}\n" for n, v in headers) + "\n\0"
    case(f"command-{command.lower()}", wire, [F(command, headers)], f"{command} is a known command (no body).")
case("command-lowercase", "send\ndestination:/q\n\n\0", [], "Commands are case-sensitive.", error="unknownCommand")
case("command-mixed-case", "Send\ndestination:/q\n\n\0", [], "Commands are case-sensitive.", error="unknownCommand")
case("command-unknown", "PUBLISH\ndestination:/q\n\n\0", [], "PUBLISH is not STOMP.", error="unknownCommand")
case("command-trailing-space", "SEND \ndestination:/q\n\n\0", [], "The command line is not trimmed.", error="unknownCommand")
case("command-leading-space", " SEND\ndestination:/q\n\n\0", [], "The command line is not trimmed.", error="unknownCommand")
case("command-after-valid-frame-unknown", "SEND\n\n\0HELLO\n\n\0", [F("SEND")], "Frames before the bad one are delivered.", error="unknownCommand")
case("command-nul-between-frames", "SEND\n\n\0\0SEND\n\n\0", [F("SEND")],
     "An extra NUL between frames is not an EOL: it starts a bad command line.", error="unknownCommand")

# Bodies only on SEND, MESSAGE, ERROR
case("body-on-error-allowed", "ERROR\nmessage:boom\n\ndetails\0", [F("ERROR", [("message", "boom")], "details")], "ERROR may carry a body.")
case("body-on-message-allowed", "MESSAGE\ndestination:/q\nmessage-id:1\nsubscription:0\n\nhi\0",
     [F("MESSAGE", [("destination", "/q"), ("message-id", "1"), ("subscription", "0")], "hi")], "MESSAGE may carry a body.")
case("body-on-subscribe-rejected", "SUBSCRIBE\nid:0\ndestination:/q\n\noops\0", [], "SUBSCRIBE must not have a body.", error="bodyNotAllowed")
case("body-on-subscribe-content-length-rejected", "SUBSCRIBE\nid:0\ncontent-length:4\n\noops\0", [],
     "A positive content-length on SUBSCRIBE is rejected before the body arrives.", error="bodyNotAllowed")
case("body-on-subscribe-content-length-zero", "SUBSCRIBE\nid:0\ndestination:/q\ncontent-length:0\n\n\0",
     [F("SUBSCRIBE", [("id", "0"), ("destination", "/q"), ("content-length", "0")])], "content-length:0 is no body, so it is fine.")
case("body-on-connect-rejected", "CONNECT\naccept-version:1.2\n\nhello\0", [], "CONNECT must not have a body.", error="bodyNotAllowed")
case("body-on-receipt-rejected", "RECEIPT\nreceipt-id:1\n\nx\0", [], "RECEIPT must not have a body.", error="bodyNotAllowed")
case("body-on-disconnect-rejected", "DISCONNECT\n\n \0", [], "Even one space is a body.", error="bodyNotAllowed")
case("body-on-ack-rejected-before-nul", "ACK\nid:1\n\nx", [], "Rejected as soon as the first body byte arrives.", error="bodyNotAllowed")

# content-length edge cases
for name, value, why in [
    ("non-numeric", "abc", "not a number"), ("negative", "-1", "negative"), ("leading-plus", "+5", "a sign is not allowed"),
    ("overflow", "99999999999999999999999", "does not fit in a 64-bit integer"),
    ("int64-max-plus-one", "9223372036854775808", "one more than Int64.max"),
    ("empty", "", "empty"), ("leading-space", " 5", "values are not trimmed"), ("trailing-space", "5 ", "values are not trimmed"),
    ("hex", "0x5", "hexadecimal is not decimal"), ("decimal-point", "5.0", "not an integer"),
]:
    case(f"content-length-{name}", f"SEND\ncontent-length:{value}\n\nhello\0", [],
         f"content-length {why}.", error="invalidContentLength")
case("content-length-int64-max", "SEND\ncontent-length:9223372036854775807\n\n", [],
     "A huge but valid content-length is rejected by the body limit before any body byte.", error="bodyTooLarge")
case("content-length-too-short", "SEND\ncontent-length:2\n\nhello\0", [],
     "The byte after the counted body must be NUL.", error="missingNullTerminator")
case("content-length-missing-nul", "SEND\ncontent-length:5\n\nhelloSEND\n\n\0", [],
     "No NUL after the body.", error="missingNullTerminator")
case("content-length-longer-than-data", "SEND\ncontent-length:10\n\nhello\0", [],
     "The NUL inside the counted body is body data; the decoder waits for more.", incomplete=True)

# Escaping per version
case("escape-v12-all", r"SEND" "\n" r"x-esc:a\r\n\c\\b" "\n\n\0", [F("SEND", [("x-esc", "a\r\n:\\b")])],
     "STOMP 1.2 decodes \\r \\n \\c \\\\.")
case("escape-v12-in-name", "SEND\nx\\cy\\\\z:v\n\n\0", [F("SEND", [("x:y\\z", "v")])], "Names are unescaped too.")
case("escape-v12-only-escapes", "SEND\nx:\\\\\\\\\\c\\n\n\n\0", [F("SEND", [("x", "\\\\:\n")])], "Escapes back to back.")
case("escape-v12-tab-rejected", "SEND\nx:a\\tb\n\n\0", [], "\\t is not a STOMP escape.", error="invalidEscape")
case("escape-v12-trailing-backslash", "SEND\nx:ab\\\n\n\0", [], "A value may not end with a lone backslash.", error="invalidEscape")
case("escape-v12-trailing-backslash-in-name", "SEND\nx\\:ab\n\n\0", [], "A name may not end with a lone backslash.", error="invalidEscape")
case("escape-v12-unknown-letter", "SEND\nx:\\a\n\n\0", [], "\\a is not a STOMP escape.", error="invalidEscape")
case("escape-v12-uppercase-n", "SEND\nx:\\N\n\n\0", [], "Escapes are case-sensitive.", error="invalidEscape")
case("escape-v11-defined", "MESSAGE\nx:a\\nb\\cc\\\\d\n\n\0", [F("MESSAGE", [("x", "a\nb:c\\d")])],
     "STOMP 1.1 decodes \\n \\c \\\\.", version="1.1")
case("escape-v11-cr-rejected", "MESSAGE\nx:a\\rb\n\n\0", [], "\\r is only defined from STOMP 1.2.", error="invalidEscape", version="1.1")
case("escape-v11-tab-rejected", "MESSAGE\nx:a\\tb\n\n\0", [], "\\t is undefined in 1.1.", error="invalidEscape", version="1.1")
case("escape-v10-verbatim", "MESSAGE\nx:a\\nb\\c\\t\\\n\n\0", [F("MESSAGE", [("x", "a\\nb\\c\\t\\")])],
     "STOMP 1.0 has no escaping: backslashes are plain bytes.", version="1.0")
case("escape-v10-raw-colons", "MESSAGE\nmessage-id:ID:host-1-2:1:1:1:1\n\nx\0",
     [F("MESSAGE", [("message-id", "ID:host-1-2:1:1:1:1")], "x")], "1.0 brokers put raw colons in values.", version="1.0")
case("escape-connect-verbatim", "CONNECT\nlogin:a\\cb\npasscode:p\\tq\\\n\n\0",
     [F("CONNECT", [("login", "a\\cb"), ("passcode", "p\\tq\\")])],
     "CONNECT headers are never unescaped, so no escape can be invalid there.")
case("escape-connected-verbatim", "CONNECTED\nversion:1.2\nserver:x\\ny\n\n\0",
     [F("CONNECTED", [("version", "1.2"), ("server", "x\\ny")])], "CONNECTED headers are never unescaped.")
case("escape-stomp-command-unescaped", "STOMP\naccept-version:1.2\nlogin:a\\cb\n\n\0",
     [F("STOMP", [("accept-version", "1.2"), ("login", "a:b")])],
     "The spec exempts only CONNECT and CONNECTED, so a STOMP frame is unescaped.")
case("escape-message-destination", "MESSAGE\ndestination:/topic/a\\cb\nmessage-id:1\nsubscription:0\n\n\0",
     [F("MESSAGE", [("destination", "/topic/a:b"), ("message-id", "1"), ("subscription", "0")])], "Escaped colon in a destination.")

# Limits
case("limit-frame-size-exact", "SEND\n\n0123456789\0", [F("SEND", [], "0123456789")],
     "A frame of exactly maxFrameSize (17 bytes) is fine.", limits={"maxFrameSize": 17})
case("limit-frame-size-exceeded", "SEND\n\n0123456789A\0", [], "One byte over maxFrameSize.",
     error="frameTooLarge", limits={"maxFrameSize": 17})
case("limit-frame-size-content-length", "SEND\ncontent-length:100\n\n", [],
     "Rejected as soon as content-length proves the frame too large, before any body byte.",
     error="frameTooLarge", limits={"maxFrameSize": 64})
case("limit-frame-size-streaming", "SEND\n\n" + "x" * 70, [],
     "Rejected while the body streams in, without waiting for a NUL.", error="frameTooLarge", limits={"maxFrameSize": 64})
case("limit-frame-size-headers", "SEND\n" + "".join(f"h{i}:{'v' * 10}\n" for i in range(10)) + "\n\0", [],
     "Headers alone exceed maxFrameSize.", error="frameTooLarge", limits={"maxFrameSize": 64})
case("limit-body-size-exact", "SEND\ncontent-length:10\n\n0123456789\0",
     [F("SEND", [("content-length", "10")], "0123456789")], "A body of exactly maxBodySize.", limits={"maxBodySize": 10})
case("limit-body-size-content-length", "SEND\ncontent-length:11\n\n", [],
     "content-length over maxBodySize is rejected before the body.", error="bodyTooLarge", limits={"maxBodySize": 10})
case("limit-body-size-nul-terminated", "SEND\n\n0123456789A\0", [], "NUL-terminated body over maxBodySize.",
     error="bodyTooLarge", limits={"maxBodySize": 10})
case("limit-body-size-nul-terminated-exact", "SEND\n\n0123456789\0", [F("SEND", [], "0123456789")],
     "NUL-terminated body of exactly maxBodySize.", limits={"maxBodySize": 10})
case("limit-body-size-streaming", "SEND\n\n0123456789A", [], "Rejected before the NUL arrives.",
     error="bodyTooLarge", limits={"maxBodySize": 10})
case("limit-header-count-exact", "SEND\na:1\nb:2\nc:3\n\n\0", [F("SEND", [("a", "1"), ("b", "2"), ("c", "3")])],
     "Exactly maxHeaderCount headers.", limits={"maxHeaderCount": 3})
case("limit-header-count-exceeded", "SEND\na:1\nb:2\nc:3\nd:4\n\n\0", [], "One header too many.",
     error="tooManyHeaders", limits={"maxHeaderCount": 3})
case("limit-header-count-repeats-count", "SEND\na:1\na:1\na:1\na:1\n\n\0", [], "Repeated headers count.",
     error="tooManyHeaders", limits={"maxHeaderCount": 3})
case("limit-header-count-default-64", "SEND\n" + "".join(f"h{i}:v\n" for i in range(64)) + "\n\0",
     [F("SEND", [(f"h{i}", "v") for i in range(64)])], "64 headers are within the default limit.")
case("limit-header-count-default-65", "SEND\n" + "".join(f"h{i}:v\n" for i in range(65)) + "\n\0", [],
     "65 headers exceed the default limit.", error="tooManyHeaders")
case("limit-header-line-exact", "SEND\nx:" + "v" * 14 + "\n\n\0", [F("SEND", [("x", "v" * 14)])],
     "A header line of exactly maxHeaderLineLength (16) bytes.", limits={"maxHeaderLineLength": 16})
case("limit-header-line-exact-crlf", "SEND\r\nx:" + "v" * 14 + "\r\n\r\n\0", [F("SEND", [("x", "v" * 14)])],
     "The CR of a CRLF does not count towards the line length.", limits={"maxHeaderLineLength": 16})
case("limit-header-line-exceeded", "SEND\nx:" + "v" * 15 + "\n\n\0", [], "One byte over maxHeaderLineLength.",
     error="headerLineTooLong", limits={"maxHeaderLineLength": 16})
case("limit-header-line-streaming", "SEND\nx:" + "v" * 100, [], "Rejected before the line ends.",
     error="headerLineTooLong", limits={"maxHeaderLineLength": 16})
case("limit-header-line-default-8k", "SEND\nx:" + "v" * 8190 + "\n\n\0", [F("SEND", [("x", "v" * 8190)])],
     "An 8 KiB header line is within the default limit.")
case("limit-header-line-default-exceeded", "SEND\nx:" + "v" * 8191 + "\n\n\0", [],
     "8 KiB + 1 exceeds the default limit.", error="headerLineTooLong")
case("limit-command-exact", "SEND\n\n\0", [F("SEND")], "SEND fits a 4-byte command limit.", limits={"maxCommandLength": 4})
case("limit-command-exceeded", "MESSAGE\n\n\0", [], "MESSAGE is longer than 4 bytes.", error="commandTooLong",
     limits={"maxCommandLength": 4})
case("limit-command-default-exceeded", "X" * 33 + "\n\n\0", [], "33-byte command line over the default 32.", error="commandTooLong")
case("limit-command-streaming", "X" * 100, [], "Rejected before the command line ends.", error="commandTooLong")

# Several limits broken at once: the one a byte-by-byte reader hits first wins, whatever the chunking.
case("limit-body-before-frame", "SEND\n\n" + "b" * 20 + "\0", [],
     "The body limit is crossed at byte 6 of the body, long before the frame limit.", error="bodyTooLarge",
     limits={"maxBodySize": 5, "maxFrameSize": 100})
case("limit-frame-before-body", "SEND\n\n" + "b" * 60 + "\0", [],
     "The frame limit (20) is crossed at body byte 14, before the body limit (50).", error="frameTooLarge",
     limits={"maxBodySize": 50, "maxFrameSize": 20})
case("limit-frame-before-header-line", "SEND\nx:" + "v" * 38 + "\n\n\0", [],
     "The frame limit is crossed inside the header line before the line limit.", error="frameTooLarge",
     limits={"maxFrameSize": 20, "maxHeaderLineLength": 30})
case("limit-header-line-before-frame", "SEND\nx:" + "v" * 38 + "\n\n\0", [],
     "The line limit is crossed before the frame limit.", error="headerLineTooLong",
     limits={"maxFrameSize": 100, "maxHeaderLineLength": 8})

# Incomplete input
case("incomplete-command", "SEN", [], "Truncated command line: waiting.", incomplete=True)
case("incomplete-headers", "SEND\ndestination:/q\n", [], "No blank line yet: waiting.", incomplete=True)
case("incomplete-body", "SEND\ndestination:/q\n\nhel", [], "No NUL yet: waiting.", incomplete=True)
case("incomplete-after-frame", "SEND\n\nx\0MESS", [F("SEND", [], "x")], "A complete frame, then a partial one.", incomplete=True)

# Shapes captured from real servers
# Captured byte for byte from real brokers (see captured.py and capture_brokers.py). Volatile values (session ids,
# queue names, message ids, timestamps) are read from the captured text; every header name, order and decoded
# value is spelled out here.
def field(wire, name):
    """The raw (still escaped) value of the first `name:` line in captured bytes."""
    for line in wire.split(b"\n"):
        if line.startswith(name.encode() + b":"):
            return line[len(name) + 1:].decode()
    raise KeyError(name)


def unescape12(value):
    return value.replace("\\c", ":").replace("\\n", "\n").replace("\\\\", "\\")


rmq = {k[1]: v for k, v in CAPTURED.items() if k[0] == "rabbitmq"}
amq = {k[1]: v for k, v in CAPTURED.items() if k[0] == "activemq"}
chat_body = '{"roomId":"42","content":"hi: a\\\\b"}'
x_odd = "a:b\\c\nd"

w = rmq["connected"]
case("rabbitmq-connected", w, [F("CONNECTED", [("server", "RabbitMQ/3.10.8"), ("session", field(w, "session")), ("heart-beat", "0,0"), ("version", "1.2")]), HB],
     "RabbitMQ 3.10.8 CONNECTED (captured); RabbitMQ ends every frame with an extra LF, a heart-beat.")
w = rmq["receipt_and_message"]
case("rabbitmq-message-and-receipt", w,
     [F("MESSAGE", [("subscription", "sub-0"), ("destination", field(w, "destination")), ("message-id", field(w, "message-id")),
                    ("redelivered", "false"), ("receipt", "r-1"), ("x-odd", x_odd), ("content-type", "application/json"),
                    ("content-length", "36")], chat_body), HB,
      F("RECEIPT", [("receipt-id", "r-1")]), HB],
     "RabbitMQ MESSAGE (captured): copies the SEND's receipt and custom headers, keeps x-odd escaped on the wire.")
w = rmq["message_nul_body"]
case("rabbitmq-message-nul-body", w,
     [F("MESSAGE", [("subscription", "sub-0"), ("destination", field(w, "destination")), ("message-id", field(w, "message-id")),
                    ("redelivered", "false"), ("content-length", "5")], b"a\0b\0c"), HB],
     "RabbitMQ MESSAGE whose content-length body holds NULs (captured).")
rmq_err = 'Could not interpret command "FOO"\n'
case("rabbitmq-error-bad-command", rmq["error_bad_command"],
     [F("ERROR", [("message", "Bad command"), ("content-type", "text/plain"), ("version", "1.0,1.1,1.2"), ("content-length", "34")], rmq_err), HB],
     "RabbitMQ ERROR for the unknown command FOO (captured; the connection stays open).")
w = rmq["connected_v11_heartbeat"]
case("rabbitmq-connected-v11-heartbeat", w,
     [F("CONNECTED", [("server", "RabbitMQ/3.10.8"), ("session", field(w, "session")), ("heart-beat", "1000,0"), ("version", "1.1")]), HB],
     "RabbitMQ answers accept-version:1.0,1.1 heart-beat:0,500 with 1.1 and heart-beat:1000,0 (captured).", version="1.1")
case("rabbitmq-error-bad-login", rmq["error_bad_login"],
     [F("ERROR", [("message", "Bad CONNECT"), ("content-type", "text/plain"), ("version", "1.0,1.1,1.2"), ("content-length", "32")],
        "Access refused for user 'guest'\n"), HB],
     "RabbitMQ ERROR for a wrong passcode (captured).")

w = amq["connected"]
case("activemq-connected", w,
     [F("CONNECTED", [("server", "ActiveMQ/5.17.2"), ("heart-beat", "0,0"), ("session", field(w, "session")), ("version", "1.2")]), HB],
     "ActiveMQ 5.17.2 CONNECTED (captured): raw colons in session, legal because CONNECTED is never escaped.")
assert ":" in field(w, "session")
w = amq["receipt_and_message"]
case("activemq-receipt-and-message", w,
     [F("RECEIPT", [("receipt-id", "r-1")]), HB,
      F("MESSAGE", [("content-length", "36"), ("expires", "0"), ("destination", field(w, "destination")), ("x-odd", x_odd),
                    ("subscription", "sub-0"), ("priority", "4"), ("message-id", unescape12(field(w, "message-id"))),
                    ("content-type", "application/json"), ("timestamp", field(w, "timestamp"))], chat_body), HB],
     "ActiveMQ RECEIPT then MESSAGE (captured): message-id colons escaped as \\c.")
assert "\\c" in field(w, "message-id")
w = amq["message_nul_body"]
case("activemq-message-nul-body", w,
     [F("MESSAGE", [("content-length", "5"), ("expires", "0"), ("destination", field(w, "destination")), ("subscription", "sub-0"),
                    ("priority", "4"), ("message-id", unescape12(field(w, "message-id"))), ("timestamp", field(w, "timestamp"))],
        b"a\0b\0c"), HB],
     "ActiveMQ MESSAGE whose content-length body holds NULs (captured).")
w = amq["error_bad_command"]
amq_trace = w[w.index(b"\n\n") + 2:w.index(b"\0")]
assert amq_trace.startswith(b"org.apache.activemq.transport.stomp.ProtocolException: Unknown STOMP action: FOO\n\tat ")
case("activemq-error-bad-command", w,
     [F("ERROR", [("content-type", "text/plain"), ("message", "Unknown STOMP action: FOO")], amq_trace), HB],
     "ActiveMQ ERROR for FOO (captured): escaped colon in message, a stack-trace body without content-length.")
w = amq["connected_v11_heartbeat"]
case("activemq-connected-v11-heartbeat", w,
     [F("CONNECTED", [("server", "ActiveMQ/5.17.2"), ("heart-beat", "500,0"), ("session", field(w, "session")), ("version", "1.1")]), HB],
     "ActiveMQ answers accept-version:1.0,1.1 heart-beat:0,500 with 1.1 and heart-beat:500,0 (captured).", version="1.1")
w = amq["error_bad_login"]
case("activemq-connected-despite-bad-passcode", w,
     [F("CONNECTED", [("server", "ActiveMQ/5.17.2"), ("heart-beat", "0,0"), ("session", field(w, "session")), ("version", "1.2")]), HB],
     "Debian's ActiveMQ has no authentication plugin: a wrong passcode still gets CONNECTED (captured).")

case("spring-connected", "CONNECTED\nversion:1.2\nheart-beat:10000,10000\nuser-name:alice\n\n\0",
     [F("CONNECTED", [("version", "1.2"), ("heart-beat", "10000,10000"), ("user-name", "alice")])],
     "Spring simple broker CONNECTED with user-name.")
spring_json = '{"messageId":"6f1c2a9e","roomId":null,"senderId":"7","receiverId":"9","content":"hi","messageType":"TALK","timestamp":"2026-11-25T10:00:00.000Z"}'
case("spring-user-queue-message", f"MESSAGE\ndestination:/user/queue/messages\ncontent-type:application/json\nsubscription:sub-0\nmessage-id:3b1c6f2e-4d5a-1\ncontent-length:{len(spring_json)}\n\n{spring_json}\0",
     [F("MESSAGE", [("destination", "/user/queue/messages"), ("content-type", "application/json"), ("subscription", "sub-0"),
                    ("message-id", "3b1c6f2e-4d5a-1"), ("content-length", str(len(spring_json)))], spring_json)],
     "Spring MESSAGE to a user destination with a JSON chat message.")
room_json = '{"roomId":"42","senderId":"7","content":"hello room","messageType":"TALK"}'
case("spring-topic-message", f"MESSAGE\ndestination:/topic/rooms.42\ncontent-type:application/json\nsubscription:sub-1\nmessage-id:a1b2-7\ncontent-length:{len(room_json)}\n\n{room_json}\0\n",
     [F("MESSAGE", [("destination", "/topic/rooms.42"), ("content-type", "application/json"), ("subscription", "sub-1"),
                    ("message-id", "a1b2-7"), ("content-length", str(len(room_json)))], room_json), HB],
     "Spring MESSAGE to a room topic, then a heart-beat.")
case("spring-error", "ERROR\nmessage:Failed to send message to ExecutorSubscribableChannel[clientInboundChannel]\ncontent-length:0\n\n\0",
     [F("ERROR", [("message", "Failed to send message to ExecutorSubscribableChannel[clientInboundChannel]"), ("content-length", "0")])],
     "Spring ERROR with an empty body.")
case("stompjs-connect", "CONNECT\naccept-version:1.2,1.1,1.0\nheart-beat:10000,10000\nAuthorization:Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI3In0.sig\n\n\0",
     [F("CONNECT", [("accept-version", "1.2,1.1,1.0"), ("heart-beat", "10000,10000"), ("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI3In0.sig")])],
     "stomp.js CONNECT with a bearer token header.")
chat = '{"roomId":"42","content":"hi"}'
case("stompjs-send", f"SEND\ndestination:/app/chat.sendMessage\ncontent-type:application/json\ncontent-length:{len(chat)}\n\n{chat}\0",
     [F("SEND", [("destination", "/app/chat.sendMessage"), ("content-type", "application/json"), ("content-length", str(len(chat)))], chat)],
     "stomp.js SEND to the chat application destination.")
case("stomppy-connect-crlf-v11", "CONNECT\r\naccept-version:1.1\r\nhost:/\r\nlogin:guest\r\npasscode:guest\r\n\r\n\0",
     [F("CONNECT", [("accept-version", "1.1"), ("host", "/"), ("login", "guest"), ("passcode", "guest")])],
     "CONNECT with CRLF line endings, decoded as 1.1.", version="1.1")


def render(expected):
    """Pretty JSON with one frame per line, so diffs stay readable."""
    lines = []
    for key, value in expected.items():
        if key == "frames":
            frames = [json.dumps(f, ensure_ascii=False) for f in value]
            text = "[]" if not frames else "[\n    " + ",\n    ".join(frames) + "\n  ]"
        else:
            text = json.dumps(value, ensure_ascii=False)
        lines.append(f'  "{key}": {text}')
    return "{\n" + ",\n".join(lines) + "\n}\n"


def main():
    for entry in os.listdir(HERE):
        if entry.endswith(".stomp") or (entry.endswith(".json")):
            os.remove(os.path.join(HERE, entry))
    for c in CASES:
        with open(os.path.join(HERE, c["name"] + ".stomp"), "wb") as f:
            f.write(c["wire"])
        with open(os.path.join(HERE, c["name"] + ".json"), "w", encoding="utf-8") as f:
            f.write(render(c["expected"]))
    print(f"wrote {len(CASES)} fixtures to {HERE}", file=sys.stderr)


if __name__ == "__main__":
    main()
