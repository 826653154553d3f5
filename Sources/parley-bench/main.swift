// parley-bench: `swift run -c release parley-bench NAME [args]`. One file per benchmark; register it here.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Benchmarks by name; each takes the remaining arguments.
let benchmarks: [(name: String, summary: String, run: ([String]) -> Int32)] = [
    ("codec", "STOMP frame decode/encode throughput (200-byte MESSAGE, 64 KiB SEND)", CodecBenchmark.run),
    ("broker", "100×100 WebSocket DM ring (time, msgs/s) and memory per idle TCP/WebSocket connection", RingBenchmark.run),
    ("broker-idle", "memory per idle connection for one transport (run by `broker`)", RingBenchmark.runIdle),
    ("jwt", "access-token verifications/s on one thread (target >= 200,000), jwt-kit comparison", AuthBenchmark.runJWT),
    ("login", "bcrypt verify/s and HTTP logins/s at bcrypt cost 10", AuthBenchmark.runLogin),
    ("kafka", "Kafka relay publish → deliver throughput and latency through Tansu (no chat server)", KafkaBenchmark.run),
    ("kafka-ring", "100×100 WebSocket DM ring through Kafka on 1 and 2 chat nodes (target < 0.25 s), p50/p99", KafkaRingBenchmark.run),
    ("kafka-outage", "time until the Kafka relay relays again after the broker was frozen for --pause seconds", KafkaOutageBenchmark.run),
]

let arguments = Array(CommandLine.arguments.dropFirst())
guard let name = arguments.first, let benchmark = benchmarks.first(where: { $0.name == name }) else {
    var usage = "usage: parley-bench NAME [options]\n"
    for benchmark in benchmarks { usage += "  \(benchmark.name)\t\(benchmark.summary)\n" }
    print(usage, terminator: "")
    exit(arguments.isEmpty || arguments.first == "--help" ? 0 : 2)
}
exit(benchmark.run(Array(arguments.dropFirst())))
