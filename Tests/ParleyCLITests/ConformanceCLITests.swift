import Foundation
import XCTest

/// `parley conformance` as a user runs it: exit codes, messages, report files.
final class ConformanceCLITests: XCTestCase {
    static let repository = ParleyCLI.repository

    func parley(_ arguments: [String]) throws -> CLIRun {
        try ParleyCLI.run(arguments, in: Self.repository)
    }

    func testListShowsConversationsAndProfiles() throws {
        let run = try parley(["conformance", "list"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("dm-one-to-one"))
        XCTAssertTrue(run.stdout.contains("rabbitmq"))
        XCTAssertTrue(run.stdout.contains("conversations; yes = applies"))
    }

    func testUnknownProfileIsAUsageError() throws {
        let run = try parley(["conformance", "run", "--profile", "nosuch", "--url", "tcp://127.0.0.1:1"])
        XCTAssertEqual(run.status, 64)
        XCTAssertTrue(run.stderr.contains("no such profile"), run.stderr)
        XCTAssertTrue(run.stderr.contains("available: activemq, parley, rabbitmq, spring"), run.stderr)
    }

    func testBadURLIsAUsageError() throws {
        let run = try parley(["conformance", "run", "--profile", "rabbitmq", "--url", "http://127.0.0.1:1"])
        XCTAssertEqual(run.status, 64)
        XCTAssertTrue(run.stderr.contains("unknown scheme 'http'"), run.stderr)
    }

    func testFailureExitsOneAndWritesReports() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("conf-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let junit = directory.appendingPathComponent("junit.xml").path
        let json = directory.appendingPathComponent("report.json").path
        // Port 1 on loopback refuses connections: the conversation fails at its first step.
        let run = try parley([
            "conformance", "run", "--profile", "rabbitmq", "--url", "tcp://127.0.0.1:1", "--conversation", "connect-1.0",
            "--junit", junit, "--json", json,
        ])
        XCTAssertEqual(run.status, 1, run.stderr)
        XCTAssertTrue(run.stdout.contains("FAIL      connect-1.0"), run.stdout)
        let xml = try String(contentsOfFile: junit, encoding: .utf8)
        XCTAssertTrue(xml.contains("<failure message="))
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any]
        XCTAssertEqual((report?["results"] as? [[String: Any]])?.first?["verdict"] as? String, "fail")
    }

    func testRabbitMQQueueConversationsPass() throws {
        guard let stomp = ProcessInfo.processInfo.environment["PARLEY_RABBITMQ_STOMP"] else {
            throw XCTSkip("PARLEY_RABBITMQ_STOMP not set: run `eval $(conformance/peers/rabbitmq.sh start)`")
        }
        let url = stomp.contains("://") ? stomp : "tcp://\(stomp)"
        let run = try parley(["conformance", "run", "--profile", "rabbitmq", "--url", url, "--tags", "queue", "--quiet"])
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        XCTAssertTrue(run.stdout.contains("0 failed"), run.stdout)
    }
}
