import Dispatch
import Foundation
import Histogram
import NIOCore
import NIOPosix
import ParleyKafka
import ParleyTesting

/// `kafka-ring`: the 100×100 WebSocket DM ring with every event relayed through Kafka (Tansu, started here),
/// on one chat node and on two (client i on node i % 2, so every DM crosses nodes).
///
///     swift run -c release parley-bench kafka-ring [--clients 100] [--messages 100] [--rounds 5] [--nodes 1,2] [--bootstrap HOST:PORT]
///
/// Same thin clients as `broker` (hand-written WebSocket framing, SENDs encoded before the clock starts). A
/// round writes every client's 100 SENDs at once; time = first write → last MESSAGE. Latency of a DM = its
/// MESSAGE's arrival − the moment its sender's SENDs were written (a burst, so it includes queueing). Every
/// round must deliver exactly clients × messages MESSAGEs (checked after a short settle) or the run fails.
enum KafkaRingBenchmark {
    static func run(_ arguments: [String]) -> Int32 {
        KafkaBenchmark.quietLogging()
        let clients = RingBenchmark.intOption(arguments, "--clients", 100)
        let messages = RingBenchmark.intOption(arguments, "--messages", 100)
        let rounds = RingBenchmark.intOption(arguments, "--rounds", 5)
        let nodeCounts = (arguments.firstIndex(of: "--nodes").map { arguments[$0 + 1] } ?? "1,2")
            .split(separator: ",").compactMap { Int($0) }.filter { $0 >= 1 }
        let bootstrap = arguments.firstIndex(of: "--bootstrap").map { arguments[$0 + 1] }
        return RingBenchmark.blocking {
            try LibrdkafkaVersion.check()
            for nodes in nodeCounts {
                // A fresh broker per configuration: memory storage, nothing left over from the previous one.
                let broker = bootstrap == nil ? try await TansuBroker.start() : nil
                defer { broker?.stop() }
                try await ring(
                    bootstrap: bootstrap ?? broker!.bootstrapServers, nodes: nodes, clients: clients, messages: messages,
                    rounds: rounds)
            }
        }
    }

    static func ring(bootstrap: String, nodes nodeCount: Int, clients: Int, messages: Int, rounds: Int) async throws {
        let clientGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let runID = UUID().uuidString.prefix(6)
        let relays = (1...nodeCount).map { node in
            var configuration = KafkaRelayConfiguration(bootstrapServers: bootstrap, nodeID: "ring-\(runID)-\(node)")
            configuration.sessionTimeout = .seconds(2)
            return KafkaRelay(configuration: configuration)
        }
        try await withParleyServers(relays.map { RingBenchmark.serverOptions(tcp: false, relay: $0) }) { servers in
            var ring: [RingClient] = []
            for index in 0..<clients {
                let server = servers[index % nodeCount]
                ring.append(try await RingClient.connect(
                    port: server.webSocketPort, token: try await server.accessToken(for: "u\(index)"), group: clientGroup))
            }
            let settings = relays[0].configuration
            print("kafka-ring: \(clients) WebSocket clients × \(messages) DMs to the next client, through Kafka (Tansu, memory), "
                + "\(nodeCount) chat node(s)\(nodeCount > 1 ? " (client i on node i % \(nodeCount): every DM crosses nodes)" : ""), "
                + "librdkafka \(LibrdkafkaVersion.loaded), \(System.coreCount) cores, server and clients in one process")
            let producerKeys = ["acks", "enable.idempotence", "max.in.flight.requests.per.connection", "linger.ms"]
            let consumerKeys = ["fetch.wait.max.ms", "fetch.min.bytes", "session.timeout.ms"]
            print("  producer " + producerKeys.map { "\($0)=\(settings.producerProperties[$0] ?? "-")" }.joined(separator: ", ")
                + "; consumer " + consumerKeys.map { "\($0)=\(settings.consumerProperties[$0] ?? "-")" }.joined(separator: ", ")
                + "; \(settings.partitions) partitions, one group per node")

            let expected = clients * messages
            /// One round: returns its elapsed seconds and the send→receive latencies in nanoseconds.
            func round() async throws -> (seconds: Double, latencies: [UInt64]) {
                let payloads = (0..<clients).map { index in
                    RingClient.encodedSends(count: messages, to: "u\((index + 1) % clients)")
                }
                let done = Counter(target: expected, eventLoop: clientGroup.next())
                for client in ring {
                    client.arrivals = []
                    client.counter = done
                }
                var writtenAt = [UInt64](repeating: 0, count: clients)
                let start = DispatchTime.now().uptimeNanoseconds
                for (index, (client, payload)) in zip(ring, payloads).enumerated() {
                    writtenAt[index] = DispatchTime.now().uptimeNanoseconds
                    client.channel.writeAndFlush(payload, promise: nil)
                }
                let finished = done.promise.futureResult
                let timeout = clientGroup.next().scheduleTask(in: .seconds(30)) {
                    done.promise.fail(BenchError("round timed out"))
                }
                do {
                    try await finished.get()
                } catch {
                    let got = ring.reduce(0) { $0 + ($1.arrivals?.count ?? 0) }
                    throw BenchError("round timed out after 30 s with \(got) of \(expected) delivered; relays \(relays.map(\.metrics))")
                }
                timeout.cancel()
                let arrivals = ring.map { $0.arrivals ?? [] }
                let last = arrivals.compactMap { $0.max() }.max() ?? start
                // Nothing extra may follow (a duplicate): settle briefly, then count exactly.
                try await Task.sleep(for: .milliseconds(200))
                let total = ring.reduce(0) { $0 + ($1.arrivals?.count ?? 0) }
                guard total == expected else { throw BenchError("\(total) MESSAGEs for \(expected) DMs: duplicates") }
                var latencies: [UInt64] = []
                latencies.reserveCapacity(expected)
                for (index, times) in arrivals.enumerated() {
                    let sentAt = writtenAt[(index + clients - 1) % clients]
                    latencies.append(contentsOf: times.map { $0 > sentAt ? $0 - sentAt : 0 })
                }
                return (Double(last - start) / 1e9, latencies)
            }

            _ = try await round()  // warm-up: connections, librdkafka batches, JIT-free but cache-cold paths
            var times: [Double] = []
            var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
            for _ in 0..<rounds {
                let (seconds, latencies) = try await round()
                times.append(seconds)
                for latency in latencies { _ = histogram.record(latency) }
            }
            times.sort()
            func ms(_ nanoseconds: UInt64) -> String { String(format: "%.1f", Double(nanoseconds) / 1e6) }
            print(String(format: "  %d×%d through Kafka on %d node(s), %d rounds: best %.3f s, median %.3f s, worst %.3f s (target < 0.25 s); %.0f msgs/s at the median",
                clients, messages, nodeCount, rounds, times[0], times[times.count / 2], times[times.count - 1],
                Double(expected) / times[times.count / 2]))
            print("  send → receive latency over \(rounds) rounds: p50 \(ms(histogram.valueAtPercentile(50))) ms, "
                + "p99 \(ms(histogram.valueAtPercentile(99))) ms, max \(ms(histogram.max)) ms")
            for relay in relays { print("  node \(relay.configuration.nodeID): \(relay.metrics)") }

            for client in ring { try? await client.channel.close() }
        }
        try await clientGroup.shutdownGracefully()
    }
}
