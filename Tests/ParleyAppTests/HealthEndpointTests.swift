import Foundation
import ParleyApp
import ParleyTesting
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `/health` and `/ready` of `parley serve`, over real sockets. Part of the serialized `ServeTests` suite: its
/// servers stop on a process-wide signal.
extension ServeTests {
    /// One GET: status, JSON object (empty when the body is not JSON) and body text.
    static func get(_ url: URL) async throws -> (status: Int, json: [String: Any], text: String) {
        var request = URLRequest(url: url)
        request.timeoutInterval = 10
        let (data, response) = try await URLSession.shared.data(for: request)
        let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, json, String(decoding: data, as: UTF8.self))
    }

    /// The value of the sample `name` (with its labels, e.g. `parley_relay_up`) in Prometheus text, if present.
    static func sample(_ name: String, in text: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }
    }

    @Test("/health and /ready check what the role runs: relay for chat, database for accounts, both for all")
    func readinessByRole() async throws {
        let directory = NSTemporaryDirectory() + "parley-ready-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let all = ServeConfiguration(dataDirectory: directory, accountPort: 0, chatPort: 0, stompPort: 0, bcryptCost: 4, metricsPort: 0)
        try await runServer(all) { base, listeners in
            let metrics = URL(string: "http://127.0.0.1:\(try #require(listeners.metricsPort))")!
            for root in [base, metrics] {
                let health = try await Self.get(root.appendingPathComponent("health"))
                #expect(health.status == 200 && health.json["status"] as? String == "up")
                let ready = try await Self.get(root.appendingPathComponent("ready"))
                #expect(ready.status == 200, "\(ready.text)")
                #expect(ready.json["checks"] as? [String: String] == ["database": "ready", "relay": "ready"])
                #expect((ready.json["notReady"] as? [String])?.isEmpty == true)
            }
            let text = try await Self.get(base.appendingPathComponent("metrics")).text
            #expect(Self.sample("parley_relay_up", in: text) == 1, "\(text)")
            #expect(Self.sample(#"parley_relay_state{state="running"}"#, in: text) == 1)
        }
        let account = ServeConfiguration(role: .account, dataDirectory: directory, accountPort: 0, chatPort: 0, stompPort: 0, bcryptCost: 4, metricsPort: 0)
        try await runServer(account) { base, listeners in
            let metrics = URL(string: "http://127.0.0.1:\(try #require(listeners.metricsPort))")!
            for root in [base, metrics] {
                let ready = try await Self.get(root.appendingPathComponent("ready"))
                #expect(ready.status == 200 && ready.json["checks"] as? [String: String] == ["database": "ready"], "\(ready.text)")
            }
        }
        let chat = ServeConfiguration(role: .chat, dataDirectory: directory, accountPort: 0, chatPort: 0, stompPort: 0, metricsPort: 0)
        try await runServer(chat) { _, listeners in
            let metrics = URL(string: "http://127.0.0.1:\(try #require(listeners.metricsPort))")!
            #expect(try await Self.get(metrics.appendingPathComponent("health")).status == 200)
            let ready = try await Self.get(metrics.appendingPathComponent("ready"))
            #expect(ready.status == 200 && ready.json["checks"] as? [String: String] == ["relay": "ready"], "\(ready.text)")
        }
    }

    @Test("a Kafka chat node's /ready is 503 naming the relay while Tansu is frozen, and 200 again after")
    func readinessFollowsTheKafkaBroker() async throws {
        let broker = try await TansuBroker.start()
        defer { broker.stop() }
        let directory = NSTemporaryDirectory() + "parley-ready-kafka-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let chat = ServeConfiguration(
            role: .chat, dataDirectory: directory, accountPort: 0, chatPort: 0, stompPort: 0,
            kafka: broker.bootstrapServers, nodeID: "ready-check", metricsPort: 0)
        try await runServer(chat) { _, listeners in
            let metrics = URL(string: "http://127.0.0.1:\(try #require(listeners.metricsPort))")!
            let ready = metrics.appendingPathComponent("ready")
            #expect(try await Self.get(ready).status == 200)

            #expect(broker.pause(), "Tansu did not stop on SIGSTOP")
            let pausedAt = ContinuousClock.now
            var down = try await Self.get(ready)
            while down.status == 200, ContinuousClock.now - pausedAt < .seconds(15) {
                try await Task.sleep(for: .milliseconds(200))
                down = try await Self.get(ready)
            }
            let detected = ContinuousClock.now - pausedAt
            #expect(down.status == 503, "still ready 15 s into the freeze")
            #expect(down.json["notReady"] as? [String] == ["relay"], "\(down.text)")
            #expect((down.json["checks"] as? [String: String])?["relay"]?.contains("not answering") == true, "\(down.text)")
            #expect(try await Self.get(metrics.appendingPathComponent("health")).status == 200, "liveness does not follow the broker")
            let degraded = try await Self.get(metrics.appendingPathComponent("metrics")).text
            #expect(Self.sample("parley_relay_up", in: degraded) == 0)
            #expect(Self.sample(#"parley_relay_state{state="degraded"}"#, in: degraded) == 1)

            #expect(broker.resume())
            let resumedAt = ContinuousClock.now
            var up = try await Self.get(ready)
            while up.status != 200, ContinuousClock.now - resumedAt < .seconds(20) {
                try await Task.sleep(for: .milliseconds(200))
                up = try await Self.get(ready)
            }
            #expect(up.status == 200, "not ready 20 s after the broker resumed: \(up.text)")
            let healthy = try await Self.get(metrics.appendingPathComponent("metrics")).text
            #expect(Self.sample("parley_relay_up", in: healthy) == 1)
            print("/ready: 503 \(detected) into the freeze, 200 again \(ContinuousClock.now - resumedAt) after resume")
        }
    }
}
