import Dispatch
import Foundation
import Histogram
import Logging
import ParleyKafka
import ParleyRelay
import ParleyTesting
import Synchronization

/// `kafka`: Kafka relay publish → deliver throughput and latency against a real Tansu broker, without the chat
/// server (the relay alone; `kafka-ring` measures the whole WebSocket path).
///
///     swift run -c release parley-bench kafka [--nodes 1] [--count 10000] [--rate 0] [--warmup 500] [--bootstrap HOST:PORT]
///
/// Starts Tansu itself unless --bootstrap is given. Every event is published once (round-robin over the nodes)
/// and must be delivered once at every node. Prints the time until the last delivery, publish→ack and
/// publish→deliver latency percentiles. --rate N paces publishing at N events/s (0 = as fast as possible).
enum KafkaBenchmark {
    static func run(_ arguments: [String]) -> Int32 {
        quietLogging()
        let options: Options
        do { options = try Options(arguments: arguments) } catch {
            FileHandle.standardError.write(Data("parley-bench kafka: \(error)\n".utf8))
            return 64
        }
        return RingBenchmark.blocking { try await relayBenchmark(options) }
    }

    /// librdkafka and relay warnings only: a benchmark's output is its numbers.
    static func quietLogging() {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
    }

    static func relayBenchmark(_ options: Options) async throws {
        try LibrdkafkaVersion.check()
        var broker: TansuBroker?
        let bootstrap: String
        if let given = options.bootstrap {
            bootstrap = given
        } else {
            let started = try await TansuBroker.start()
            broker = started
            bootstrap = started.bootstrapServers
        }
        defer { broker?.stop() }
        let sinks = (0..<options.nodes).map { _ in PhaseSink() }
        var relays: [KafkaRelay] = []
        for node in 0..<options.nodes {
            var configuration = KafkaRelayConfiguration(bootstrapServers: bootstrap, nodeID: "bench-\(node)-\(UUID().uuidString.prefix(6))")
            configuration.sessionTimeout = .seconds(2)
            let relay = KafkaRelay(configuration: configuration)
            try await relay.start(deliveringTo: sinks[node])
            relays.append(relay)
        }
        let settings = relays[0].configuration
        print("Kafka relay benchmark: librdkafka \(LibrdkafkaVersion.loaded), broker \(options.bootstrap ?? "Tansu (memory) started here"), "
            + "\(options.nodes) node(s), \(options.count) events, rate \(options.rate == 0 ? "unpaced" : "\(options.rate)/s")")
        let keys = ["acks", "enable.idempotence", "max.in.flight.requests.per.connection", "linger.ms", "message.timeout.ms"]
        let consumerKeys = ["fetch.wait.max.ms", "fetch.min.bytes", "session.timeout.ms", "auto.commit.interval.ms"]
        print("producer: " + keys.map { "\($0)=\(settings.producerProperties[$0] ?? "-")" }.joined(separator: ", "))
        print("consumer: " + consumerKeys.map { "\($0)=\(settings.consumerProperties[$0] ?? "-")" }.joined(separator: ", ")
            + ", partitions=\(settings.partitions), one consumer group per node")
        if options.warmup > 0 {
            _ = try await runPhase(relays: relays, sinks: sinks, count: options.warmup, rate: 0, prefix: "warmup-")
        }
        let result = try await runPhase(relays: relays, sinks: sinks, count: options.count, rate: options.rate, prefix: "bench-")
        let deliveries = options.count * options.nodes
        print(String(format: "delivered %d events to %d node(s) (%d deliveries) in %.3f s: %.0f events/s, %.0f deliveries/s",
            options.count, options.nodes, deliveries, result.elapsed, Double(options.count) / result.elapsed, Double(deliveries) / result.elapsed))
        print("publish → broker ack:  \(percentiles(result.ack))\(result.failures > 0 ? " (\(result.failures) failures)" : "")")
        print("publish → delivery:    \(percentiles(result.deliver))")
        for relay in relays {
            print("node \(relay.configuration.nodeID): \(relay.metrics)")
            await relay.shutdown()
        }
    }

    struct Options {
        var nodes = 1
        var count = 10_000
        var rate = 0
        var bootstrap: String?
        var warmup = 500

        init(arguments: [String]) throws {
            var iterator = arguments.makeIterator()
            while let argument = iterator.next() {
                func value() throws -> String {
                    guard let next = iterator.next() else { throw UsageError("\(argument) needs a value") }
                    return next
                }
                func number() throws -> Int {
                    let text = try value()
                    guard let number = Int(text), number >= 0 else { throw UsageError("\(argument) needs a number ≥ 0, got \(text)") }
                    return number
                }
                switch argument {
                case "--nodes": nodes = max(1, try number())
                case "--count": count = max(1, try number())
                case "--rate": rate = try number()
                case "--warmup": warmup = try number()
                case "--bootstrap": bootstrap = try value()
                default: throw UsageError("unknown argument \(argument)")
                }
            }
        }
    }

    struct UsageError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// Records when each event index reached one node.
    final class TimingSink: ChatEventSink {
        private struct State {
            var deliveredAt: [UInt64]
            var delivered = 0
            var waiter: CheckedContinuation<Bool, Never>?
            var target = Int.max
        }

        private let prefix: String
        private let state: Mutex<State>

        init(count: Int, prefix: String) {
            self.prefix = prefix
            state = Mutex(State(deliveredAt: Array(repeating: 0, count: count)))
        }

        func deliver(_ event: ChatEvent) {
            let now = DispatchTime.now().uptimeNanoseconds
            guard event.messageId.hasPrefix(prefix), let index = Int(event.messageId.dropFirst(prefix.count)) else { return }
            let ready = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                guard index < state.deliveredAt.count, state.deliveredAt[index] == 0 else { return nil }
                state.deliveredAt[index] = now
                state.delivered += 1
                guard state.delivered >= state.target, let waiter = state.waiter else { return nil }
                state.waiter = nil
                return waiter
            }
            ready?.resume(returning: true)
        }

        /// Waits until `count` events arrived; false when `timeout` passed first.
        func waitForAll(_ count: Int, timeout: Duration) async -> Bool {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let done = state.withLock { state -> Bool in
                    if state.delivered >= count { return true }
                    state.target = count
                    state.waiter = continuation
                    return false
                }
                if done {
                    continuation.resume(returning: true)
                    return
                }
                Task {
                    try? await Task.sleep(for: timeout)
                    let waiter = self.state.withLock { state -> CheckedContinuation<Bool, Never>? in
                        defer { state.waiter = nil }
                        return state.waiter
                    }
                    waiter?.resume(returning: false)
                }
            }
        }

        var delivered: Int { state.withLock { $0.delivered } }

        var deliveredAt: [UInt64] { state.withLock { $0.deliveredAt } }
    }

    /// A node's sink for the whole run; each phase plugs in its own ``TimingSink``.
    final class PhaseSink: ChatEventSink {
        private let current = Mutex<TimingSink?>(nil)
        func use(_ sink: TimingSink) { current.withLock { $0 = sink } }
        func deliver(_ event: ChatEvent) { current.withLock { $0 }?.deliver(event) }
    }

    static func percentiles(_ values: [UInt64]) -> String {
        var histogram = Histogram<UInt64>(highestTrackableValue: 600_000_000_000, numberOfSignificantValueDigits: .three)
        for value in values { _ = histogram.record(value) }
        func ms(_ nanoseconds: UInt64) -> String { String(format: "%.2f", Double(nanoseconds) / 1e6) }
        return "p50 \(ms(histogram.valueAtPercentile(50))) ms, p99 \(ms(histogram.valueAtPercentile(99))) ms, "
            + "max \(ms(histogram.max)) ms"
    }

    /// What one phase measured.
    struct PhaseResult {
        /// Seconds from the first publish to the last delivery at any node.
        var elapsed: Double
        /// Publish → broker ack, nanoseconds, one per event.
        var ack: [UInt64]
        /// Publish → delivery, nanoseconds, one per event and node.
        var deliver: [UInt64]
        var failures: Int
    }

    /// Publishes `count` events named `prefix<i>` round-robin over `relays`; waits until every node got them all.
    static func runPhase(relays: [KafkaRelay], sinks: [PhaseSink], count: Int, rate: Int, prefix: String) async throws -> PhaseResult {
        let timings = relays.map { _ in TimingSink(count: count, prefix: prefix) }
        for (sink, timing) in zip(sinks, timings) { sink.use(timing) }
        let acks = Mutex((at: [UInt64](repeating: 0, count: count), failures: 0))
        var sentAt = [UInt64](repeating: 0, count: count)
        let start = DispatchTime.now().uptimeNanoseconds
        for index in 0..<count {
            if rate > 0 {
                // Pace in small bursts: sleep until this event's slot.
                let due = start + UInt64(Double(index) / Double(rate) * 1e9)
                let now = DispatchTime.now().uptimeNanoseconds
                if due > now + 1_000_000 { try await Task.sleep(nanoseconds: due - now) }
            }
            let event = ChatEvent(
                messageId: "\(prefix)\(index)", roomId: "room-\(index % 100)", senderId: "user-\(index % 100)",
                receiverId: "user-\((index + 1) % 100)", content: "ring message \(index) from the Kafka relay benchmark",
                messageType: "TALK", timestamp: ChatEvent.formatTimestamp(Date()))
            sentAt[index] = DispatchTime.now().uptimeNanoseconds
            relays[index % relays.count].publish(event) { result in
                let now = DispatchTime.now().uptimeNanoseconds
                acks.withLock { acks in
                    acks.at[index] = now
                    if case .failure = result { acks.failures += 1 }
                }
            }
        }
        let extraSeconds: Int = rate > 0 ? count / rate : 0
        let timeout: Duration = .seconds(30 + extraSeconds)
        for node in 0..<timings.count {
            let timing: TimingSink = timings[node]
            let arrived: Bool = await timing.waitForAll(count, timeout: timeout)
            if arrived { continue }
            var missing: [Int] = []
            for (index, at) in timing.deliveredAt.enumerated() where at == 0 && missing.count < 10 { missing.append(index) }
            let metrics: [KafkaRelayMetrics] = relays.map { $0.metrics }
            let report: String = "node \(node) got \(timing.delivered) of \(count) events; missing e.g. \(missing); metrics \(metrics)"
            throw UsageError(report)
        }
        let deliveredAt = timings.map(\.deliveredAt)
        let last = deliveredAt.flatMap { $0 }.max() ?? start
        let ackTimes = acks.withLock { $0 }
        return PhaseResult(
            elapsed: Double(last - start) / 1e9,
            ack: zip(ackTimes.at, sentAt).map { $0 > $1 ? $0 - $1 : 0 },
            deliver: deliveredAt.flatMap { zip($0, sentAt).map { $0 - $1 } },
            failures: ackTimes.failures)
    }
}
