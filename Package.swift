// swift-tools-version:6.1
// Parley: a STOMP 1.2 chat back end in Spring's dialect, plus a STOMP conformance kit and load generator.
//
// Targets are grouped by area, one array per area, so that work on one area never touches another's lines.
// Layers only import downward; docs/architecture.md draws them.
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

// MARK: - Relay model (chat events and the relay seam)

let relayTargets: [Target] = [
    .target(
        name: "ParleyRelay",
        dependencies: [],
        swiftSettings: strict
    ),
    .testTarget(
        name: "ParleyRelayTests",
        dependencies: ["ParleyRelay"],
        swiftSettings: strict
    ),
]

// MARK: - Codec (issue 2)

let codecTargets: [Target] = []

// MARK: - Auth + accounts (issue 3)

let accountTargets: [Target] = []

// MARK: - Broker + transports (issue 4)

let brokerTargets: [Target] = []

// MARK: - Client + load generator (issues 4, 7)

let clientTargets: [Target] = []

// MARK: - Kafka relay (issue 5)

/// Every binary linking librdkafka looks in `<package>/.tools/lib` first: `.ci/setup` links the confluent-kafka
/// wheel's librdkafka 2.16 there, because Debian's 2.0.2 cannot talk to Tansu (see docs/kafka.md).
let kafkaRuntimeSearchPath: [LinkerSetting] = [
    .unsafeFlags(["-Xlinker", "-rpath", "-Xlinker", Context.packageDirectory + "/.tools/lib"])
]

let kafkaTargets: [Target] = [
    .systemLibrary(
        name: "CRdKafka",
        path: "Sources/CRdKafka",
        pkgConfig: "rdkafka",
        providers: [.apt(["librdkafka-dev"])]
    ),
    .target(
        name: "ParleyKafka",
        dependencies: [
            "CRdKafka", "ParleyRelay",
            .product(name: "Logging", package: "swift-log"),
        ],
        swiftSettings: strict,
        linkerSettings: kafkaRuntimeSearchPath
    ),
    .target(
        name: "ParleyTesting",
        dependencies: ["ParleyRelay"],
        swiftSettings: strict
    ),
    // Relay publish → deliver throughput and latency (docs/performance.md, "Kafka relay").
    .executableTarget(
        name: "parley-kafka-bench",
        dependencies: [
            "ParleyKafka", "ParleyRelay", "ParleyTesting",
            .product(name: "Histogram", package: "hdrhistogram-swift"),
            .product(name: "Logging", package: "swift-log"),
        ],
        swiftSettings: strict
    ),
    .testTarget(
        name: "ParleyKafkaTests",
        dependencies: ["ParleyKafka", "ParleyRelay", "ParleyTesting"],
        swiftSettings: strict
    ),
]

// MARK: - Conformance kit (issue 6)

let conformanceTargets: [Target] = []

// MARK: - Executables (CLI `parley`, benchmarks `parley-bench`)

let executableTargets: [Target] = []

let package = Package(
    name: "Parley",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ParleyRelay", targets: ["ParleyRelay"]),
        .library(name: "ParleyKafka", targets: ["ParleyKafka"]),
        .library(name: "ParleyTesting", targets: ["ParleyTesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.8.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: relayTargets + codecTargets + accountTargets + brokerTargets + clientTargets + kafkaTargets
        + conformanceTargets + executableTargets
)
