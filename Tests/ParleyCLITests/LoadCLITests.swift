import Foundation
import XCTest

/// `parley load` as a user runs it: exit codes, summary, JSON file. RabbitMQ runs need PARLEY_RABBITMQ_STOMP.
final class LoadCLITests: XCTestCase {
    func parley(_ arguments: [String]) throws -> CLIRun {
        try ParleyCLI.run(arguments)
    }

    private func rabbitURL() throws -> String {
        guard let address = ProcessInfo.processInfo.environment["PARLEY_RABBITMQ_STOMP"] else {
            throw XCTSkip("PARLEY_RABBITMQ_STOMP not set: start RabbitMQ with conformance/peers/rabbitmq.sh")
        }
        return "tcp://\(address)"
    }

    func testBadArgumentsAreUsageErrors() throws {
        let badURL = try parley(["load", "ring", "--url", "http://127.0.0.1:1/x"])
        XCTAssertEqual(badURL.status, 64)
        XCTAssertTrue(badURL.stderr.contains("unknown scheme 'http'"), badURL.stderr)
        let both = try parley(["load", "ring", "--url", "tcp://127.0.0.1:1", "--rate", "10", "--window", "2"])
        XCTAssertEqual(both.status, 64)
        XCTAssertTrue(both.stderr.contains("--rate and --window exclude each other"), both.stderr)
    }

    func testURLIsTheServerFlagAndTargetStillWorks() throws {
        // Both spellings reach the endpoint parser: the URL's scheme is what is rejected, not the flag.
        for flag in ["--url", "--target"] {
            let run = try parley(["load", "ring", flag, "http://127.0.0.1:1/x"])
            XCTAssertEqual(run.status, 64, flag)
            XCTAssertTrue(run.stderr.contains("unknown scheme 'http'"), "\(flag): \(run.stderr)")
        }
        let both = try parley(["load", "connect", "--url", "tcp://127.0.0.1:1", "--target", "tcp://127.0.0.1:2"])
        XCTAssertEqual(both.status, 64)
        XCTAssertTrue(both.stderr.contains("--target is the old name of --url"), both.stderr)
        for subcommand in ["ring", "room", "connect"] {
            let help = try parley(["load", subcommand, "--help"])
            XCTAssertEqual(help.status, 0)
            XCTAssertTrue(help.stdout.contains("--url <url>"), help.stdout)
            XCTAssertFalse(help.stdout.contains("--target"), help.stdout)
        }
        let conformance = try parley(["conformance", "run", "--help"])
        XCTAssertTrue(conformance.stdout.contains("--url <url>"), conformance.stdout)
    }

    func testUnreachableServerExitsOneWithAMessage() throws {
        let run = try parley(["load", "ring", "--url", "tcp://127.0.0.1:1", "--profile", "queues", "--clients", "2", "--timeout", "10"])
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("clients failed to connect"), run.stderr)
    }

    func testRingAgainstRabbitMQWritesSummaryAndJSON() throws {
        let url = try rabbitURL()
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("parley-load-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: json) }
        let run = try parley([
            "load", "ring", "--url", url, "--profile", "rabbitmq", "--clients", "10", "--messages", "10",
            "--json", json.path, "--no-loss", "--min-rate", "1",
        ])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("sent 100, expected 100, delivered 100"), run.stdout)
        XCTAssertFalse(run.stderr.contains("\r"), "no progress line when stderr is not a terminal")
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any])
        XCTAssertEqual(object["scenario"] as? String, "ring")
        XCTAssertEqual(object["delivered"] as? Int, 100)
        XCTAssertEqual(object["lost"] as? Int, 0)
        XCTAssertNotNil((object["latency"] as? [String: Any])?["p99"])
    }

    func testFailedThresholdExitsTwo() throws {
        let url = try rabbitURL()
        let run = try parley([
            "load", "room", "--url", url, "--profile", "rabbitmq", "--senders", "1", "--subscribers", "3",
            "--messages", "5", "--max-p99", "0.000001",
        ])
        XCTAssertEqual(run.status, 2, run.stderr)
        XCTAssertTrue(run.stderr.contains("threshold failed: p99 latency"), run.stderr)
        XCTAssertTrue(run.stdout.contains("delivered 15"), run.stdout)
    }
}
