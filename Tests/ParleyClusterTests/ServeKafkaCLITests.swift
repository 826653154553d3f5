import Foundation
import ParleyAuth
import ParleyClient
import ParleyTesting
import Synchronization
import Testing

/// `parley serve --role chat --kafka …` as a real process (the built `parley` next to the test bundle).
extension KafkaClusterTests {
    @Test func serveExitsWithAClearErrorWhenTheBrokerIsUnreachable() async throws {
        let closedPort = try TansuBroker.freeLoopbackPort()
        let directory = NSTemporaryDirectory() + "parley-kafka-cli-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let serve = try ServeProcess.start(
            kafka: "127.0.0.1:\(closedPort)", nodeID: "unreachable-node", dataDirectory: directory)
        defer { serve.kill() }

        let started = ContinuousClock.now
        // The relay gives up after its 10 s start-up timeout; 40 s leaves room for a loaded machine.
        #expect(serve.waitForExit(seconds: 40), "parley serve hung with the broker unreachable:\n\(serve.output)")
        let took = ContinuousClock.now - started
        print("unreachable broker: parley serve exited \(serve.process.terminationStatus) after \(String(format: "%.1f", seconds(took))) s")
        #expect(serve.process.terminationReason == .exit, "parley serve crashed:\n\(serve.output)")
        #expect(serve.process.terminationStatus != 0)
        // The last word is Parley's own message naming the broker (librdkafka's log lines also name it; not enough).
        #expect(
            serve.errors.contains("parley serve: cannot reach Kafka at 127.0.0.1:\(closedPort)"),
            "stderr has no clear error naming the broker:\n\(serve.errors)")
        #expect(!serve.output.contains("chat listening"), "nothing may listen when the relay cannot start")
    }

    @Test func serveRelaysThroughLiveTansuAndStopsOnSIGTERM() async throws {
        let broker = try await TansuBroker.start()
        defer { broker.stop() }
        let directory = NSTemporaryDirectory() + "parley-kafka-cli-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let serve = try ServeProcess.start(kafka: broker.bootstrapServers, nodeID: "cli-node", dataDirectory: directory)
        defer { serve.kill() }

        let port = try await serve.waitForWebSocketPort()
        // A DM to oneself goes out through Kafka and back: proves the process's relay is live.
        let jwt = await JWTService(secret: try JWTSecret(bytes: Array(ServeProcess.secret.utf8)))
        let token = try await jwt.issue(.access, subject: "cli-user").token
        let client = try await StompClient.connect(
            to: .webSocket(host: "127.0.0.1", port: port, path: "/ws/chat"),
            options: StompClient.Options(host: "/", bearerToken: token, receiptTimeout: .seconds(30)))
        let otherSession = try await StompClient.connect(
            to: .webSocket(host: "127.0.0.1", port: port, path: "/ws/chat"),
            options: StompClient.Options(host: "/", bearerToken: token, receiptTimeout: .seconds(30)))
        let inbox = try await otherSession.inbox()
        try await client.sendChat(room: "cli", to: "cli-user", content: "through the process")
        #expect(await inbox.waitFor(1), "the message did not come back through Kafka:\n\(serve.output)")
        await client.close()
        await otherSession.close()

        kill(serve.process.processIdentifier, SIGTERM)
        #expect(serve.waitForExit(seconds: 20), "parley serve ignored SIGTERM:\n\(serve.output)")
        #expect(serve.process.terminationReason == .exit)
        #expect(serve.process.terminationStatus == 0, "\(serve.output)")
        #expect(serve.output.contains("stopped"), "no shutdown log line:\n\(serve.output)")
    }
}

/// A `parley serve --role chat --kafka …` process with its stdout and stderr collected.
final class ServeProcess: Sendable {
    static let secret = "cluster-test-secret-0123456789-abcdefghij"

    let process: Process
    private let stdout = Mutex(Data())
    private let stderr = Mutex(Data())

    private init(process: Process) { self.process = process }

    /// The built `parley` executable next to the test bundle (`.build/<triple>/<config>/parley`).
    static var executable: URL {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("parley")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        return Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("parley")
    }

    static func start(kafka: String, nodeID: String, dataDirectory: String) throws -> ServeProcess {
        let process = Process()
        process.executableURL = executable
        process.arguments = [
            "serve", "--role", "chat", "--kafka", kafka, "--node-id", nodeID, "--chat-port", "0", "--stomp-port", "0",
            "--data-dir", dataDirectory,
        ]
        process.environment = ProcessInfo.processInfo.environment.merging(["PARLEY_JWT_SECRET": secret]) { $1 }
        let serve = ServeProcess(process: process)
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        out.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            serve.stdout.withLock { $0.append(chunk) }
        }
        err.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            serve.stderr.withLock { $0.append(chunk) }
        }
        try process.run()
        return serve
    }

    /// What the process wrote to stderr.
    var errors: String { stderr.withLock { String(decoding: $0, as: UTF8.self) } }

    /// stdout and stderr (log lines may go to either).
    var output: String { stdout.withLock { String(decoding: $0, as: UTF8.self) } + errors }

    /// Waits (bounded) for the "chat listening on ws://…" log line and returns its port.
    func waitForWebSocketPort(seconds: Double = 40) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            let text = output
            if let range = text.range(of: #"chat listening on ws://127\.0\.0\.1:\d+"#, options: .regularExpression),
                let port = text[range].split(separator: ":").last.flatMap({ Int($0) })
            {
                return port
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ClusterTestError("parley serve did not report where it listens; output:\n\(output)")
    }

    /// Waits up to `seconds` for the process to exit; true if it did.
    func waitForExit(seconds: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        return !process.isRunning
    }

    /// Kills the process if a test left it running.
    func kill() {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

extension KafkaClusterTests {
    /// A `parley serve --role chat` node killed with SIGKILL (no leave-group, no final commit) and started again
    /// with the same node id rejoins its consumer group and delivers new messages to sessions reconnected to it.
    @Test func killedServeNodeRestartsWithTheSameNodeID() async throws {
        let broker = try await TansuBroker.start()
        defer { broker.stop() }
        let directory = NSTemporaryDirectory() + "parley-kafka-cli-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let jwt = await JWTService(secret: try JWTSecret(bytes: Array(ServeProcess.secret.utf8)))
        let token = try await jwt.issue(.access, subject: "kill-user").token
        let options = StompClient.Options(host: "/", bearerToken: token, receiptTimeout: .seconds(30))

        for life in ["first", "after SIGKILL"] {
            let serve = try ServeProcess.start(kafka: broker.bootstrapServers, nodeID: "killed-node", dataDirectory: directory)
            defer { serve.kill() }
            // The restarted node waits for the killed member's session (6 s) to expire before it is assigned.
            let port = try await serve.waitForWebSocketPort(seconds: 60)
            let endpoint = StompEndpoint.webSocket(host: "127.0.0.1", port: port, path: "/ws/chat")
            let sender = try await StompClient.connect(to: endpoint, options: options)
            let receiver = try await StompClient.connect(to: endpoint, options: options)
            let inbox = try await receiver.inbox()
            try await sender.sendChat(room: "kill", to: "kill-user", content: "\(life) life")
            #expect(await inbox.waitFor(1), "\(life): no delivery through Kafka:\n\(serve.output)")
            let received = try await inbox.settled()
            #expect(received.map(\.content) == ["\(life) life"], "\(life): \(received.map(\.content))")
            await sender.close()
            await receiver.close()
            serve.kill()
            #expect(serve.process.terminationReason == .uncaughtSignal)
            // Tansu keeps the killed member in the group until its session (6 s, `parley serve`'s default)
            // expires; a node restarted sooner finds no partitions within its 10 s start-up timeout and exits 1.
            if life == "first" { try await Task.sleep(for: .seconds(8)) }
        }
    }
}

extension KafkaClusterTests {
    /// Two `parley serve` processes given one node id (here with separate data directories) would split the node's
    /// consumer group between them, each missing part of every room. The second is refused before it joins the
    /// group, with one line naming the node id and the first process; the first keeps relaying, and once it has
    /// stopped the id is free again.
    @Test func secondServeWithANodeIDAlreadyActiveIsRefused() async throws {
        let broker = try await TansuBroker.start()
        defer { broker.stop() }
        let directories = (0..<3).map { NSTemporaryDirectory() + "parley-kafka-twin-\($0)-\(UUID().uuidString)" }
        defer { for directory in directories { try? FileManager.default.removeItem(atPath: directory) } }
        let jwt = await JWTService(secret: try JWTSecret(bytes: Array(ServeProcess.secret.utf8)))
        let token = try await jwt.issue(.access, subject: "twin-user").token
        let options = StompClient.Options(host: "/", bearerToken: token, receiptTimeout: .seconds(30))

        let first = try ServeProcess.start(kafka: broker.bootstrapServers, nodeID: "twin", dataDirectory: directories[0])
        defer { first.kill() }
        let port = try await first.waitForWebSocketPort()

        let second = try ServeProcess.start(kafka: broker.bootstrapServers, nodeID: "twin", dataDirectory: directories[1])
        defer { second.kill() }
        try #require(second.waitForExit(seconds: 40), "a second node with id twin kept running:\n\(second.output)")
        #expect(second.process.terminationReason == .exit && second.process.terminationStatus == 1, "\(second.output)")
        let refusal = second.errors.split(separator: "\n").filter { $0.hasPrefix("parley serve:") }
        #expect(
            refusal.count == 1 && refusal[0].contains("node id twin is already in use")
                && refusal[0].contains("(pid \(first.process.processIdentifier)") && refusal[0].contains("parley-twin"),
            "\(second.errors)")
        #expect(!second.output.contains("chat listening"), "nothing may listen when the node id is taken")

        // The first node still has every partition: a DM to oneself comes back through Kafka.
        let endpoint = StompEndpoint.webSocket(host: "127.0.0.1", port: port, path: "/ws/chat")
        let sender = try await StompClient.connect(to: endpoint, options: options)
        let receiver = try await StompClient.connect(to: endpoint, options: options)
        let inbox = try await receiver.inbox()
        for index in 0..<6 { try await sender.sendChat(room: "twin-\(index)", to: "twin-user", content: "dm \(index)") }
        #expect(await inbox.waitFor(6), "the first node lost deliveries:\n\(first.output)")
        await sender.close()
        await receiver.close()

        kill(first.process.processIdentifier, SIGTERM)
        #expect(first.waitForExit(seconds: 20), "\(first.output)")
        let third = try ServeProcess.start(kafka: broker.bootstrapServers, nodeID: "twin", dataDirectory: directories[2])
        defer { third.kill() }
        _ = try await third.waitForWebSocketPort()
    }
}
