import Foundation
import XCTest

/// Runs the built `parley` binary (built because this target depends on it) as a user would.
final class FramesCLITests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/frames")

    func parley(_ arguments: [String], stdin: Data? = nil) throws -> CLIRun {
        try ParleyCLI.run(arguments, stdin: stdin, timeout: 30)
    }

    func testDecodePrintsOneJSONLinePerItem() throws {
        let run = try parley(["frames", "decode", Self.fixtures.appendingPathComponent("many-frames-one-read.stomp").path])
        XCTAssertEqual(run.status, 0, run.stderr)
        let lines = run.stdoutText.split(separator: "\n")
        XCTAssertEqual(lines.count, 4)
        XCTAssertEqual(lines[0], #"{"command":"SEND","headers":[["destination","/a"]],"body":"1"}"#)
        XCTAssertEqual(lines[2], #"{"heartBeat":true}"#)
    }

    func testDecodeBinaryBodyUsesBase64() throws {
        let run = try parley(["frames", "decode", Self.fixtures.appendingPathComponent("send-invalid-utf8-body.stomp").path])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdoutText.contains(#""bodyBase64":"//6A""#), run.stdoutText)
    }

    func testDecodeErrorPrintsKindAndExitsOne() throws {
        let run = try parley(["frames", "decode", Self.fixtures.appendingPathComponent("command-after-valid-frame-unknown.stomp").path])
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.hasPrefix("error: unknownCommand: "), run.stderr)
        XCTAssertEqual(run.stdoutText, #"{"command":"SEND","headers":[],"body":""}"# + "\n")
    }

    func testDecodeHonoursVersionAndLimitFlags() throws {
        let wire = Data("MESSAGE\nx:a\\cb\n\n0123456789\0".utf8)
        let v10 = try parley(["frames", "decode", "--version", "1.0", "-"], stdin: wire)
        XCTAssertEqual(v10.status, 0, v10.stderr)
        XCTAssertTrue(v10.stdoutText.contains(#"["x","a\\cb"]"#), v10.stdoutText)
        let limited = try parley(["frames", "decode", "--max-body-size", "4", "-"], stdin: wire)
        XCTAssertEqual(limited.status, 1)
        XCTAssertTrue(limited.stderr.hasPrefix("error: bodyTooLarge: "), limited.stderr)
        let badVersion = try parley(["frames", "decode", "--version", "2.0", "-"], stdin: wire)
        XCTAssertNotEqual(badVersion.status, 0)
    }

    func testDecodeReadsStdinAndReportsTruncation() throws {
        let ok = try parley(["frames", "decode", "-"], stdin: Data("\nSEND\ndestination:/q\n\nhi\0".utf8))
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertEqual(ok.stdoutText.split(separator: "\n").count, 2)
        let truncated = try parley(["frames", "decode", "-"], stdin: Data("SEND\ndestination:/q\n\nhi".utf8))
        XCTAssertEqual(truncated.status, 1)
        XCTAssertTrue(truncated.stderr.hasPrefix("error: incomplete: "), truncated.stderr)
    }

    func testDecodeMissingFileIsAClearError() throws {
        let run = try parley(["frames", "decode", "/nonexistent/x.stomp"])
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("cannot read /nonexistent/x.stomp"), run.stderr)
    }

    func testEncodeRoundTripsEveryValidFixture() throws {
        for name in ["rabbitmq-message-and-receipt", "rabbitmq-error-bad-command", "spring-user-queue-message", "send-binary-body", "escape-v12-all", "activemq-connected", "header-utf8"] {
            let wirePath = Self.fixtures.appendingPathComponent(name + ".stomp").path
            XCTAssertTrue(FileManager.default.fileExists(atPath: wirePath), wirePath)
            let decoded = try parley(["frames", "decode", wirePath])
            XCTAssertEqual(decoded.status, 0, "\(name): \(decoded.stderr)")
            let encoded = try parley(["frames", "encode"], stdin: decoded.stdoutData)
            XCTAssertEqual(encoded.status, 0, "\(name): \(encoded.stderr)")
            XCTAssertEqual(encoded.stdoutData, try Data(contentsOf: URL(fileURLWithPath: wirePath)), name)
        }
    }

    func testEncodeAddsContentLengthAndReadsFiles() throws {
        let json = #"{"command":"SEND","headers":[["destination","/q"]],"body":"hé"}"#
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("parley-encode-\(UUID().uuidString).json")
        try Data(json.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let run = try parley(["frames", "encode", file.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stdoutData, Data("SEND\ndestination:/q\ncontent-length:3\n\nhé\0".utf8))
    }

    func testEncodeRejectsInvalidJSONAndUnrepresentableFrames() throws {
        let garbage = try parley(["frames", "encode", "-"], stdin: Data("{not json".utf8))
        XCTAssertEqual(garbage.status, 1)
        XCTAssertTrue(garbage.stderr.hasPrefix("error: invalid frame JSON: "), garbage.stderr)
        XCTAssertTrue(garbage.stdout.isEmpty)
        let pair = try parley(["frames", "encode"], stdin: Data(#"{"command":"SEND","headers":[["a","b","c"]]}"#.utf8))
        XCTAssertEqual(pair.status, 1)
        XCTAssertTrue(pair.stderr.contains("[name, value] pair"), pair.stderr)
        let bodyOnSubscribe = Data(#"{"command":"SUBSCRIBE","headers":[["id","0"]],"body":"x"}"#.utf8)
        let refused = try parley(["frames", "encode"], stdin: bodyOnSubscribe)
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("bodyNotAllowed"), refused.stderr)
        let forced = try parley(["frames", "encode", "--unchecked"], stdin: bodyOnSubscribe)
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertEqual(forced.stdoutData, Data("SUBSCRIBE\nid:0\ncontent-length:1\n\nx\0".utf8))
        let newlineInConnect = try parley(["frames", "encode"], stdin: Data(#"{"command":"CONNECT","headers":[["login","a\nb"]]}"#.utf8))
        XCTAssertEqual(newlineInConnect.status, 1, newlineInConnect.stderr)
    }
}
