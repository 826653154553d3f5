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

// MARK: - Flat JSON (the strict reader behind chat bodies, relayed events and JWT headers/claims)

let jsonTargets: [Target] = [
    .target(
        name: "ParleyJSON",
        dependencies: [],
        swiftSettings: strict
    ),
    .testTarget(
        name: "ParleyJSONTests",
        dependencies: ["ParleyJSON"],
        swiftSettings: strict
    ),
]

// MARK: - WebSocket wire format (frames read and written without NIO's frame codec, for both sides)

let webSocketTargets: [Target] = [
    .target(
        name: "ParleyWebSocket",
        dependencies: [.product(name: "NIOCore", package: "swift-nio")],
        swiftSettings: strict
    ),
    .testTarget(
        name: "ParleyWebSocketTests",
        dependencies: [
            "ParleyWebSocket",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
        ],
        swiftSettings: strict
    ),
]

// MARK: - Relay model (chat events and the relay seam)

let relayTargets: [Target] = [
    .target(
        name: "ParleyRelay",
        dependencies: ["ParleyJSON"],
        swiftSettings: strict
    ),
    .testTarget(
        name: "ParleyRelayTests",
        dependencies: ["ParleyRelay"],
        swiftSettings: strict
    ),
]

// MARK: - Codec (issue 2)

let codecTargets: [Target] = [
    .target(
        name: "ParleyCodec",
        dependencies: [.product(name: "NIOCore", package: "swift-nio")],
        swiftSettings: strict
    ),
    .target(
        name: "ParleyCodecJSON",
        dependencies: ["ParleyCodec", "ParleyJSON", .product(name: "NIOCore", package: "swift-nio")],
        swiftSettings: strict
    ),
    .testTarget(
        name: "ParleyCodecTests",
        dependencies: [
            "ParleyCodec",
            "ParleyCodecJSON",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
        ],
        swiftSettings: strict
    ),
]

// MARK: - Auth + accounts (issue 3)

let accountTargets: [Target] = [
    .target(
        name: "ParleyAuth",
        dependencies: [
            "ParleyJSON",
            .product(name: "JWTKit", package: "jwt-kit"),
            .product(name: "Crypto", package: "swift-crypto"),
        ],
        swiftSettings: strict
    ),
    .testTarget(
        name: "ParleyAuthTests",
        dependencies: [
            "ParleyAuth", "ParleyJSON",
            .product(name: "JWTKit", package: "jwt-kit"),
            .product(name: "Crypto", package: "swift-crypto"),
        ],
        swiftSettings: strict
    ),
    .target(
        name: "ParleyAccounts",
        dependencies: [
            "ParleyAuth",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ],
        swiftSettings: strict
    ),
    .testTarget(
        name: "ParleyAccountsTests",
        dependencies: [
            "ParleyAccounts",
            "ParleyAuth",
            .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Crypto", package: "swift-crypto"),
        ],
        swiftSettings: strict
    ),
    .target(
        name: "ParleyApp",
        dependencies: [
            "ParleyAccounts",
            "ParleyAuth",
            "ParleyRelay",
            "ParleyServer",
            "ParleyKafka",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ],
        swiftSettings: strict
    ),
    .testTarget(
        name: "ParleyAppTests",
        dependencies: [
            "ParleyApp",
            "ParleyAccounts",
            "ParleyClient",
            "ParleyCodec",
            "ParleyTesting",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ],
        swiftSettings: strict
    ),
]

// MARK: - Broker + transports (issue 4)

let brokerTargets: [Target] = [
    .target(
        name: "ParleyBroker",
        dependencies: [
            "ParleyCodec",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Metrics", package: "swift-metrics"),
        ],
        swiftSettings: strict
    ),
    .target(
        name: "ParleyChat",
        dependencies: [
            "ParleyBroker", "ParleyRelay",
            .product(name: "NIOCore", package: "swift-nio"),
        ],
        swiftSettings: strict
    ),
    .target(
        name: "ParleyServer",
        dependencies: [
            "ParleyBroker", "ParleyChat", "ParleyCodec", "ParleyRelay", "ParleyAuth", "ParleyWebSocket",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ],
        swiftSettings: strict
    ),
    .testTarget(
        name: "ParleyBrokerTests",
        dependencies: [
            "ParleyBroker", "ParleyChat", "ParleyCodec", "ParleyRelay", "ParleyWebSocket",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
        ],
        swiftSettings: strict
    ),
    .testTarget(
        name: "ParleyServerTests",
        dependencies: [
            "ParleyServer", "ParleyBroker", "ParleyCodec", "ParleyRelay", "ParleyAuth", "ParleyClient",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
        ],
        resources: [.copy("Interop")],
        swiftSettings: strict
    ),
]

// MARK: - Client + load generator (issues 4, 7)

let clientTargets: [Target] = [
    .target(
        name: "ParleyClient",
        dependencies: [
            "ParleyCodec", "ParleyWebSocket",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "DequeModule", package: "swift-collections"),
        ],
        swiftSettings: strict
    ),
    .target(
        name: "ParleyLoad",
        dependencies: [
            "ParleyClient",
            "ParleyCodec",
            "ParleyProfiles",
            .product(name: "Histogram", package: "hdrhistogram-swift"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ],
        swiftSettings: strict
    ),
    .testTarget(
        name: "ParleyClientTests",
        dependencies: [
            "ParleyClient", "ParleyWebSocket",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
        ],
        swiftSettings: strict
    ),
    .testTarget(
        name: "ParleyLoadTests",
        dependencies: ["ParleyLoad", "ParleyClient", "ParleyProfiles", "ParleyServer", "ParleyAuth", "ParleyRelay", "ParleyBroker"],
        swiftSettings: strict
    ),
]

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
            .product(name: "Metrics", package: "swift-metrics"),
        ],
        swiftSettings: strict,
        linkerSettings: kafkaRuntimeSearchPath
    ),
    .target(
        name: "ParleyTesting",
        dependencies: ["ParleyRelay"],
        swiftSettings: strict
    ),
    .testTarget(
        name: "ParleyKafkaTests",
        dependencies: ["ParleyKafka", "ParleyRelay", "ParleyTesting"],
        swiftSettings: strict
    ),
    // Several chat nodes on one Tansu broker: delivery, faults, `parley serve --kafka`, the ring through Kafka.
    .testTarget(
        name: "ParleyClusterTests",
        dependencies: [
            "ParleyKafka", "ParleyRelay", "ParleyTesting", "ParleyServer", "ParleyBroker", "ParleyAuth",
            "ParleyClient", "ParleyCodec", "ParleyLoad",
            // Built so the CLI tests can run `.build/<config>/parley serve --kafka …` as a process.
            "parley",
            .product(name: "NIOCore", package: "swift-nio"),
        ],
        swiftSettings: strict
    ),
]

// MARK: - Conformance kit (issue 6)

let conformanceTargets: [Target] = [
    // Server profiles (how to reach, authenticate against and address a STOMP server); shared with ParleyLoad.
    .target(
        name: "ParleyProfiles",
        dependencies: [
            "ParleyClient", "ParleyJSON",
            .product(name: "Yams", package: "Yams"),
        ],
        swiftSettings: strict
    ),
    // Conversation fixtures, runner, JUnit/JSON reports (issue 6).
    .target(
        name: "ParleyConformance",
        dependencies: [
            "ParleyProfiles",
            "ParleyClient",
            "ParleyCodec",
            "ParleyCodecJSON",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
        ],
        swiftSettings: strict
    ),
    .testTarget(
        name: "ParleyConformanceTests",
        dependencies: [
            "ParleyConformance", "ParleyProfiles", "ParleyCodec", "ParleyClient",
            // The in-process Parley every conversation also runs against.
            "ParleyAccounts", "ParleyAuth", "ParleyServer", "ParleyBroker", "ParleyRelay",
        ],
        swiftSettings: strict
    ),
    .testTarget(
        name: "ParleyProfilesTests",
        dependencies: ["ParleyProfiles", "ParleyClient"],
        swiftSettings: strict
    ),
]

// MARK: - Executables (CLI `parley`, benchmarks `parley-bench`)

let executableTargets: [Target] = [
    .executableTarget(
        name: "parley",
        dependencies: [
            "ParleyCodec",
            "ParleyCodecJSON",
            "ParleyApp",
            "ParleyClient",
            "ParleyLoad",
            "ParleyConformance",
            "ParleyProfiles",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "NIOCore", package: "swift-nio"),
        ],
        swiftSettings: strict
    ),
    .executableTarget(
        name: "parley-bench",
        dependencies: [
            "ParleyCodec", "ParleyBroker", "ParleyServer", "ParleyRelay",
            "ParleyAuth",
            "ParleyAccounts",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "JWTKit", package: "jwt-kit"),
            .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            // `kafka` and `kafka-ring` (docs/performance.md, "Kafka relay").
            "ParleyKafka", "ParleyTesting",
            .product(name: "Histogram", package: "hdrhistogram-swift"),
            .product(name: "Logging", package: "swift-log"),
        ],
        swiftSettings: strict
    ),
    .testTarget(
        name: "ParleyCLITests",
        dependencies: ["parley", "ParleyCodec", "ParleyCodecJSON"],
        swiftSettings: strict
    ),
]

let package = Package(
    name: "Parley",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ParleyRelay", targets: ["ParleyRelay"]),
        .library(name: "ParleyBroker", targets: ["ParleyBroker"]),
        .library(name: "ParleyServer", targets: ["ParleyServer"]),
        .library(name: "ParleyProfiles", targets: ["ParleyProfiles"]),
        .library(name: "ParleyConformance", targets: ["ParleyConformance"]),
        .library(name: "ParleyAuth", targets: ["ParleyAuth"]),
        .library(name: "ParleyAccounts", targets: ["ParleyAccounts"]),
        .library(name: "ParleyApp", targets: ["ParleyApp"]),
        .library(name: "ParleyCodec", targets: ["ParleyCodec"]),
        .library(name: "ParleyCodecJSON", targets: ["ParleyCodecJSON"]),
        .executable(name: "parley", targets: ["parley"]),
        .executable(name: "parley-bench", targets: ["parley-bench"]),
        .library(name: "ParleyClient", targets: ["ParleyClient"]),
        .library(name: "ParleyLoad", targets: ["ParleyLoad"]),
        .library(name: "ParleyKafka", targets: ["ParleyKafka"]),
        .library(name: "ParleyTesting", targets: ["ParleyTesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.8.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: jsonTargets + webSocketTargets + relayTargets + codecTargets + accountTargets + brokerTargets + clientTargets + kafkaTargets
        + conformanceTargets + executableTargets
)
