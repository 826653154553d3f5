import Foundation
import XCTest

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Runs `parley serve` as a real process: it logs where it listens, serves HTTP, never logs the secret, and
/// exits cleanly on SIGTERM and SIGINT.
final class ServeCLITests: XCTestCase {
    /// Collects a pipe's output from a background reader.
    final class OutputCollector: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()
        func append(_ chunk: Data) { lock.withLock { data.append(chunk) } }
        var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
    }

    func startServe(dataDirectory: String, environment: [String: String]) throws -> (Process, OutputCollector) {
        let process = Process()
        process.executableURL = ParleyCLI.executable
        process.arguments = ["serve", "--account-port", "0", "--chat-port", "0", "--stomp-port", "0", "--data-dir", dataDirectory, "--bcrypt-cost", "4"]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let output = OutputCollector()
        pipe.fileHandleForReading.readabilityHandler = { handle in output.append(handle.availableData) }
        try process.run()
        return (process, output)
    }

    /// Waits (bounded) for the "listening on" log line and returns the port.
    func waitForPort(_ output: OutputCollector, process: Process) throws -> Int {
        let deadline = Date(timeIntervalSinceNow: 30)
        while Date() < deadline {
            let text = output.text
            if let range = text.range(of: #"listening on http://127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                let port = text[range].split(separator: ":").last.flatMap { Int($0) }
                return try XCTUnwrap(port)
            }
            if !process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        XCTFail("parley serve did not report a port; output:\n\(output.text)")
        throw CancellationError()
    }

    func waitForExit(_ process: Process, seconds: Double = 20) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        return !process.isRunning
    }

    func testServeListensServesAndStopsOnSignals() async throws {
        let directory = NSTemporaryDirectory() + "parley-serve-cli-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let secret = "cli-test-secret-value-0123456789-abcdefgh"
        for signal in [SIGTERM, SIGINT] {
            let (process, output) = try startServe(dataDirectory: directory, environment: ["PARLEY_JWT_SECRET": secret])
            defer { if process.isRunning { process.terminate() } }
            let port = try waitForPort(output, process: process)

            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/auth/login")!)
            request.httpMethod = "POST"
            request.httpBody = Data(#"{"loginId":"nobody","password":"wrongpass1"}"#.utf8)
            let (data, response) = try await URLSession.shared.data(for: request)
            XCTAssertEqual((response as? HTTPURLResponse)?.statusCode, 401)
            XCTAssertTrue(String(decoding: data, as: UTF8.self).contains("invalid_credentials"))

            kill(process.processIdentifier, signal)
            XCTAssertTrue(waitForExit(process), "parley serve ignored signal \(signal)")
            XCTAssertEqual(process.terminationStatus, 0, output.text)
            XCTAssertFalse(output.text.contains(secret), "the secret was logged")
            XCTAssertTrue(output.text.contains("PARLEY_JWT_SECRET"), "the secret's origin is logged")
        }
    }

    /// Two processes on one data directory would share its node id and split their Kafka group's partitions
    /// (0 of 200 cross-node DMs arrived): the second exits 1 at once with one line naming the directory and the
    /// first one's PID; the first goes on serving.
    func testSecondServeOnTheSameDataDirectoryExitsWithOneClearLine() async throws {
        let directory = NSTemporaryDirectory() + "parley-serve-cli-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let environment = ["PARLEY_JWT_SECRET": "cli-test-secret-value-0123456789-abcdefgh"]
        let (first, firstOutput) = try startServe(dataDirectory: directory, environment: environment)
        defer { if first.isRunning { first.terminate() } }
        let port = try waitForPort(firstOutput, process: first)

        let (second, secondOutput) = try startServe(dataDirectory: directory, environment: environment)
        defer { if second.isRunning { second.terminate() } }
        guard waitForExit(second) else {
            return XCTFail("a second parley serve kept running on \(directory):\n\(secondOutput.text)")
        }
        XCTAssertEqual(second.terminationStatus, 1, secondOutput.text)
        let absolute = URL(fileURLWithPath: directory).standardizedFileURL.path
        XCTAssertEqual(
            secondOutput.text,
            "parley serve: data directory \(absolute) is in use by another parley serve (pid \(first.processIdentifier)); "
                + "give every node its own --data-dir\n")

        let (_, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
        XCTAssertEqual((response as? HTTPURLResponse)?.statusCode, 200, "the first server stopped serving")
        kill(first.processIdentifier, SIGTERM)
        XCTAssertTrue(waitForExit(first))
        XCTAssertEqual(first.terminationStatus, 0, firstOutput.text)
    }

    func testServeRejectsBadConfiguration() throws {
        let process = Process()
        process.executableURL = ParleyCLI.executable
        process.arguments = ["serve", "--account-port", "99999"]
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = Pipe()
        try process.run()
        let message = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertNotEqual(process.terminationStatus, 0)
        XCTAssertTrue(message.contains("invalid account port '99999'"), message)
    }
}
