import Foundation
import ParleyKafka
import ParleyRelay
import ParleyTesting
import Synchronization

/// `kafka-outage`: how long the Kafka relay takes to relay again after the broker was frozen (SIGSTOP) for a
/// given time, with the relay's default settings (message timeout 30 s unless given) and steady traffic.
///
///     swift run parley-bench kafka-outage [--pause 40] [--message-timeout 30] [--rate 10] [--extra key=value]…
///
/// Starts Tansu and one relay, publishes `--rate` events/s throughout, freezes the broker for `--pause` seconds,
/// resumes it, and prints: the publish failures during the outage, the state transitions, and from the resume
/// the time until the first publish sent after it was acknowledged, the first such event was delivered back, and
/// the relay was `running`. `--extra enable.idempotence=true` reproduces the configuration before issue 12.
enum KafkaOutageBenchmark {
    struct Options {
        var pause = 40.0
        var messageTimeout = 30.0
        var rate = 10
        var extra: [String: String] = [:]

        init(arguments: [String]) throws {
            var iterator = arguments.makeIterator()
            while let argument = iterator.next() {
                guard let value = iterator.next() else { throw KafkaBenchmark.UsageError("\(argument) needs a value") }
                switch argument {
                case "--pause": pause = try Self.seconds(value, argument)
                case "--message-timeout": messageTimeout = try Self.seconds(value, argument)
                case "--rate": rate = max(1, Int(try Self.seconds(value, argument)))
                case "--extra":
                    let parts = value.split(separator: "=", maxSplits: 1).map(String.init)
                    guard parts.count == 2 else { throw KafkaBenchmark.UsageError("--extra needs key=value, got \(value)") }
                    extra[parts[0]] = parts[1]
                default: throw KafkaBenchmark.UsageError("unknown argument \(argument)")
                }
            }
        }

        private static func seconds(_ text: String, _ flag: String) throws -> Double {
            guard let value = Double(text), value > 0 else { throw KafkaBenchmark.UsageError("\(flag) needs a number > 0, got \(text)") }
            return value
        }
    }

    static func run(_ arguments: [String]) -> Int32 {
        KafkaBenchmark.quietLogging()
        let options: Options
        do { options = try Options(arguments: arguments) } catch {
            FileHandle.standardError.write(Data("parley-bench kafka-outage: \(error)\n".utf8))
            return 64
        }
        return RingBenchmark.blocking { try await outage(options) }
    }

    /// Delivery times of events by message id.
    final class ArrivalSink: ChatEventSink {
        let arrivals = Mutex<[String: ContinuousClock.Instant]>([:])
        func deliver(_ event: ChatEvent) {
            let now = ContinuousClock.now
            arrivals.withLock { $0[event.messageId] = $0[event.messageId] ?? now }
        }
    }

    /// What the publisher and the state sampler record, shared with the main task.
    final class Log: Sendable {
        let sent = Mutex<[Sent]>([])
        let transitions = Mutex<[(ContinuousClock.Instant, String)]>([])
        let stop = Atomic<Bool>(false)
    }

    /// One publish: when it was sent, and when and how it completed.
    struct Sent: Sendable {
        var id: String
        var sentAt: ContinuousClock.Instant
        var completedAt: ContinuousClock.Instant?
        var error: String?
    }

    static func outage(_ options: Options) async throws {
        try LibrdkafkaVersion.check()
        let broker = try await TansuBroker.start()
        defer { broker.stop() }
        var configuration = KafkaRelayConfiguration(bootstrapServers: broker.bootstrapServers, nodeID: "outage-\(UUID().uuidString.prefix(6))")
        configuration.messageTimeout = .milliseconds(Int(options.messageTimeout * 1000))
        configuration.extraProperties = options.extra
        let relay = KafkaRelay(configuration: configuration)
        let sink = ArrivalSink()
        try await relay.start(deliveringTo: sink)
        print("Kafka outage benchmark: librdkafka \(LibrdkafkaVersion.loaded), Tansu (memory), broker frozen \(options.pause) s, "
            + "message timeout \(options.messageTimeout) s, \(options.rate) publishes/s, health check every \(configuration.healthCheckInterval)"
            + (options.extra.isEmpty ? "" : ", extra \(options.extra)"))

        let log = Log()
        let publisher = Task.detached {
            var index = 0
            while !log.stop.load(ordering: .relaxed) {
                index += 1
                let event = ChatEvent(
                    messageId: "outage-\(index)-\(UUID().uuidString.prefix(8))", roomId: "room-\(index % 7)", senderId: "bench",
                    receiverId: nil, content: "event \(index)", messageType: "TALK", timestamp: ChatEvent.formatTimestamp(Date()))
                let slot = log.sent.withLock { list in
                    list.append(Sent(id: event.messageId, sentAt: .now))
                    return list.count - 1
                }
                relay.publish(event) { result in
                    let now = ContinuousClock.now
                    log.sent.withLock { list in
                        list[slot].completedAt = now
                        if case .failure(let error) = result { list[slot].error = "\(error)" }
                    }
                }
                try? await Task.sleep(for: .milliseconds(1000 / options.rate))
            }
        }
        // State transitions, sampled every 50 ms.
        let sampler = Task.detached {
            var last = ""
            while !log.stop.load(ordering: .relaxed) {
                let state = relay.state.description
                if state != last {
                    log.transitions.withLock { $0.append((.now, state)) }
                    last = state
                }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }

        try await Task.sleep(for: .seconds(3))
        let pausedAt = ContinuousClock.now
        guard broker.pause() else { throw KafkaBenchmark.UsageError("Tansu did not stop on SIGSTOP") }
        try await Task.sleep(for: .milliseconds(Int(options.pause * 1000)))
        let resumedAt = ContinuousClock.now
        broker.resume()

        // Wait for: an event sent after the resume acknowledged and delivered, and the relay running.
        var acknowledged: Duration?
        var delivered: Duration?
        var running: Duration?
        let deadline = resumedAt + .seconds(180)
        while ContinuousClock.now < deadline, acknowledged == nil || delivered == nil || running == nil {
            let list = log.sent.withLock { $0 }
            let arrivals = sink.arrivals.withLock { $0 }
            let afterResume = list.filter { $0.sentAt >= resumedAt }
            if acknowledged == nil, let first = afterResume.compactMap({ $0.error == nil ? $0.completedAt : nil }).min() {
                acknowledged = first - resumedAt
            }
            if delivered == nil, let first = afterResume.compactMap({ arrivals[$0.id] }).min() { delivered = first - resumedAt }
            if running == nil, relay.state == .running { running = ContinuousClock.now - resumedAt }
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .seconds(2))
        log.stop.store(true, ordering: .relaxed)
        await publisher.value
        await sampler.value

        let list = log.sent.withLock { $0 }
        let during = list.filter { $0.sentAt >= pausedAt && $0.sentAt < resumedAt }
        let afterResume = list.filter { $0.sentAt >= resumedAt }
        let failedDuring = during.filter { $0.error != nil }
        let failedAfter = afterResume.filter { $0.error != nil }
        let firstFailure = list.compactMap { $0.error != nil ? $0.completedAt : nil }.min()
        func relative(_ instant: ContinuousClock.Instant) -> String {
            String(format: "%+.2f s", (instant - pausedAt).seconds)
        }
        print("published \(list.count): \(during.count) during the outage (\(failedDuring.count) failed), \(afterResume.count) after the resume (\(failedAfter.count) failed)")
        if let firstFailure { print("first failure \(relative(firstFailure)) after the freeze") }
        for error in Set(list.compactMap(\.error)).sorted() {
            print("  error (\(list.filter { $0.error == error }.count)×): \(error)")
        }
        print("state (times from the freeze; resume at \(relative(resumedAt))):")
        for (at, state) in log.transitions.withLock({ $0 }) { print("  \(relative(at))  \(state)") }
        func show(_ duration: Duration?) -> String { duration.map { String(format: "%.2f s", $0.seconds) } ?? "not within 180 s" }
        print("after a \(options.pause) s outage: first new publish acknowledged \(show(acknowledged)), first new event delivered "
            + "\(show(delivered)), relay running \(show(running)) after the resume")
        print("relay metrics: \(relay.metrics)")
        await relay.shutdown()
    }
}

extension Duration {
    /// The duration in seconds.
    fileprivate var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
