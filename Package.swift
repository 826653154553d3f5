// swift-tools-version:6.1
// Parley: a STOMP 1.2 chat back end in Spring's dialect, plus a STOMP conformance kit and load generator.
//
// Targets are grouped by layer, lowest first; a module only imports modules of its own or a lower layer, and its
// declared dependencies are exactly its imports. docs/architecture.md draws the layers.
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

/// Every module has a README.md saying what it owns and what it may import.
let readme = ["README.md"]

func nio(_ name: String) -> Target.Dependency { .product(name: name, package: "swift-nio") }
let crypto: Target.Dependency = .product(name: "Crypto", package: "swift-crypto")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let metrics: Target.Dependency = .product(name: "Metrics", package: "swift-metrics")
let serviceLifecycle: Target.Dependency = .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let unixSignals: Target.Dependency = .product(name: "UnixSignals", package: "swift-service-lifecycle")
let hummingbird: Target.Dependency = .product(name: "Hummingbird", package: "hummingbird")
let bcrypt: Target.Dependency = .product(name: "HummingbirdBcrypt", package: "hummingbird-auth")
let jwtKit: Target.Dependency = .product(name: "JWTKit", package: "jwt-kit")
let grdb: Target.Dependency = .product(name: "GRDB", package: "GRDB.swift")
let histogram: Target.Dependency = .product(name: "Histogram", package: "hdrhistogram-swift")
let yams: Target.Dependency = .product(name: "Yams", package: "Yams")

/// Executables and tests (never libraries, so other packages can depend on Parley's) look in `<package>/.tools/lib`
/// first for librdkafka: `.ci/setup` links the confluent-kafka wheel's 2.16 there, because Debian's 2.0.2 cannot
/// talk to Tansu (see docs/kafka.md).
let kafkaRuntimeSearchPath: [LinkerSetting] = [
    .unsafeFlags(["-Xlinker", "-rpath", "-Xlinker", Context.packageDirectory + "/.tools/lib"])
]

func tests(_ name: String, _ dependencies: [Target.Dependency], resources: [Resource]? = nil) -> Target {
    .testTarget(
        name: name, dependencies: dependencies, resources: resources, swiftSettings: strict,
        linkerSettings: kafkaRuntimeSearchPath)
}

// MARK: - Layer 1: wire formats (no Parley dependency)

let wireFormatTargets: [Target] = [
    // Strict flat-object JSON reader and string writer, base64url and unverified JWT peeks; no Foundation.
    .target(name: "ParleyJSON", exclude: readme, swiftSettings: strict),
    // STOMP 1.0–1.2 frames: model, streaming decoder, encoder, header escaping, heart-beat negotiation.
    .target(name: "ParleyCodec", dependencies: [nio("NIOCore")], exclude: readme, swiftSettings: strict),
    // RFC 6455 frames read and written straight in ByteBuffers, for the server's and the client's end.
    .target(name: "ParleyWebSocket", dependencies: [nio("NIOCore")], exclude: readme, swiftSettings: strict),
    // librdkafka's C API (Debian's headers; run against ≥ 2.2).
    .systemLibrary(
        name: "CRdKafka", path: "Sources/CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
    tests("ParleyJSONTests", ["ParleyJSON"]),
    tests("ParleyCodecTests", ["ParleyCodec", "ParleyCodecJSON", nio("NIOCore"), nio("NIOEmbedded")]),
    tests("ParleyWebSocketTests", ["ParleyWebSocket", nio("NIOCore"), nio("NIOEmbedded"), nio("NIOWebSocket")]),
]

// MARK: - Layer 2: models (frames as JSON, the chat vocabulary and relay seam, tokens)

let modelTargets: [Target] = [
    .target(name: "ParleyCodecJSON", dependencies: ["ParleyCodec", "ParleyJSON", nio("NIOCore")], exclude: readme, swiftSettings: strict),
    .target(name: "ParleyRelay", dependencies: ["ParleyJSON"], exclude: readme, swiftSettings: strict),
    .target(name: "ParleyAuth", dependencies: ["ParleyJSON", jwtKit, crypto], exclude: readme, swiftSettings: strict),
    tests("ParleyRelayTests", ["ParleyRelay"]),
    tests("ParleyAuthTests", ["ParleyAuth", "ParleyJSON", jwtKit, crypto]),
]

// MARK: - Layer 3: server core (STOMP sessions and broker, the chat application, the Kafka relay, accounts)

let serverCoreTargets: [Target] = [
    .target(name: "ParleyBroker", dependencies: ["ParleyCodec", nio("NIOCore"), metrics], exclude: readme, swiftSettings: strict),
    .target(name: "ParleyChat", dependencies: ["ParleyBroker", "ParleyRelay", nio("NIOCore")], exclude: readme, swiftSettings: strict),
    .target(name: "ParleyKafka", dependencies: ["CRdKafka", "ParleyRelay", logging, metrics], exclude: readme, swiftSettings: strict),
    .target(
        name: "ParleyAccounts",
        dependencies: ["ParleyAuth", hummingbird, bcrypt, grdb, crypto, logging, nio("NIOCore"), nio("NIOPosix"), serviceLifecycle],
        exclude: readme, swiftSettings: strict),
    tests(
        "ParleyBrokerTests",
        ["ParleyBroker", "ParleyChat", "ParleyCodec", "ParleyRelay", "ParleyWebSocket", nio("NIOCore"), nio("NIOEmbedded")]),
    tests("ParleyKafkaTests", ["ParleyKafka", "ParleyRelay", "ParleyTesting"]),
    tests("ParleyAccountsTests", ["ParleyAccounts", "ParleyAuth", bcrypt, grdb, crypto]),
]

// MARK: - Layer 4: server (transports, `parley serve` wiring)

let serverTargets: [Target] = [
    .target(
        name: "ParleyServer",
        dependencies: [
            "ParleyAuth", "ParleyBroker", "ParleyChat", "ParleyCodec", "ParleyRelay", "ParleyWebSocket", crypto, logging,
            nio("NIOCore"), nio("NIOPosix"), nio("NIOHTTP1"), nio("NIOWebSocket"), serviceLifecycle,
        ],
        exclude: readme, swiftSettings: strict),
    .target(
        name: "ParleyApp",
        dependencies: [
            "ParleyAccounts", "ParleyAuth", "ParleyBroker", "ParleyKafka", "ParleyRelay", "ParleyServer", hummingbird, logging,
            metrics, nio("NIOCore"), .product(name: "Prometheus", package: "swift-prometheus"), serviceLifecycle, unixSignals,
        ],
        exclude: readme, swiftSettings: strict),
    tests(
        "ParleyServerTests",
        [
            "ParleyAuth", "ParleyBroker", "ParleyClient", "ParleyCodec", "ParleyRelay", "ParleyServer", "ParleyTesting",
            nio("NIOConcurrencyHelpers"), nio("NIOCore"), nio("NIOPosix"),
        ],
        resources: [.copy("Interop")]),
    tests(
        "ParleyAppTests",
        ["ParleyAccounts", "ParleyApp", "ParleyClient", "ParleyCodec", "ParleyTesting", serviceLifecycle, unixSignals]),
]

// MARK: - Layer 5: the kit (STOMP client, server profiles, conformance, load)

let kitTargets: [Target] = [
    .target(
        name: "ParleyClient",
        dependencies: [
            "ParleyCodec", "ParleyWebSocket", .product(name: "DequeModule", package: "swift-collections"),
            nio("NIOConcurrencyHelpers"), nio("NIOCore"), nio("NIOHTTP1"), nio("NIOPosix"), nio("NIOWebSocket"),
        ],
        exclude: readme, swiftSettings: strict),
    // Server profiles (how to reach, authenticate against and address a STOMP server), the account-API client and
    // credentials; shared by conformance and load.
    .target(
        name: "ParleyProfiles",
        dependencies: ["ParleyClient", "ParleyCodec", "ParleyJSON", nio("NIOCore"), nio("NIOHTTP1"), nio("NIOPosix"), yams],
        exclude: readme, swiftSettings: strict),
    .target(
        name: "ParleyConformance",
        dependencies: ["ParleyClient", "ParleyCodec", "ParleyJSON", "ParleyProfiles", crypto, nio("NIOCore"), yams],
        exclude: readme, swiftSettings: strict),
    .target(
        name: "ParleyLoad",
        dependencies: [
            "ParleyClient", "ParleyCodec", "ParleyProfiles", "ParleyRelay", histogram, nio("NIOConcurrencyHelpers"),
            nio("NIOCore"),
        ],
        exclude: readme, swiftSettings: strict),
    tests(
        "ParleyClientTests",
        [
            "ParleyClient", "ParleyCodec", "ParleyWebSocket", nio("NIOConcurrencyHelpers"), nio("NIOCore"), nio("NIOHTTP1"),
            nio("NIOPosix"), nio("NIOWebSocket"),
        ]),
    tests(
        "ParleyProfilesTests",
        ["ParleyClient", "ParleyProfiles", "ParleyRelay", nio("NIOConcurrencyHelpers"), nio("NIOCore"), nio("NIOHTTP1"), nio("NIOPosix")]),
    // Runs every conversation against an in-process Parley too.
    tests(
        "ParleyConformanceTests",
        ["ParleyBroker", "ParleyCodec", "ParleyConformance", "ParleyJSON", "ParleyProfiles", "ParleyTesting"]),
    tests("ParleyLoadTests", ["ParleyClient", "ParleyCodec", "ParleyLoad", "ParleyProfiles", "ParleyTesting"]),
]

// MARK: - Layer 6: testing support (whole servers and a real Kafka-compatible broker, in-process)

let testingTargets: [Target] = [
    .target(
        name: "ParleyTesting",
        dependencies: [
            "ParleyAccounts", "ParleyApp", "ParleyAuth", "ParleyBroker", "ParleyClient", "ParleyProfiles", "ParleyRelay",
            "ParleyServer", logging, serviceLifecycle,
        ],
        exclude: readme, swiftSettings: strict),
    // Several chat nodes on one Tansu broker: delivery, faults, `parley serve --kafka`, the ring through Kafka.
    tests(
        "ParleyClusterTests",
        [
            "ParleyAuth", "ParleyClient", "ParleyCodec", "ParleyKafka", "ParleyLoad", "ParleyRelay", "ParleyTesting",
            // Built so the CLI tests can run `.build/<config>/parley serve --kafka …` as a process.
            "parley",
        ]),
]

// MARK: - Layer 7: executables (CLI `parley`, benchmarks `parley-bench`)

let executableTargets: [Target] = [
    .executableTarget(
        name: "parley",
        dependencies: [
            "ParleyApp", "ParleyClient", "ParleyCodec", "ParleyCodecJSON", "ParleyConformance", "ParleyLoad", "ParleyProfiles",
            .product(name: "ArgumentParser", package: "swift-argument-parser"), nio("NIOCore"),
        ],
        swiftSettings: strict,
        linkerSettings: kafkaRuntimeSearchPath),
    .executableTarget(
        name: "parley-bench",
        dependencies: [
            "ParleyAccounts", "ParleyAuth", "ParleyCodec", "ParleyKafka", "ParleyRelay", "ParleyTesting", bcrypt, histogram,
            jwtKit, logging, nio("NIOConcurrencyHelpers"), nio("NIOCore"), nio("NIOPosix"),
        ],
        swiftSettings: strict,
        linkerSettings: kafkaRuntimeSearchPath),
    tests("ParleyCLITests", ["parley"]),
]

let package = Package(
    name: "Parley",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ParleyJSON", targets: ["ParleyJSON"]),
        .library(name: "ParleyCodec", targets: ["ParleyCodec"]),
        .library(name: "ParleyCodecJSON", targets: ["ParleyCodecJSON"]),
        .library(name: "ParleyWebSocket", targets: ["ParleyWebSocket"]),
        .library(name: "ParleyRelay", targets: ["ParleyRelay"]),
        .library(name: "ParleyAuth", targets: ["ParleyAuth"]),
        .library(name: "ParleyBroker", targets: ["ParleyBroker"]),
        .library(name: "ParleyChat", targets: ["ParleyChat"]),
        .library(name: "ParleyKafka", targets: ["ParleyKafka"]),
        .library(name: "ParleyAccounts", targets: ["ParleyAccounts"]),
        .library(name: "ParleyServer", targets: ["ParleyServer"]),
        .library(name: "ParleyApp", targets: ["ParleyApp"]),
        .library(name: "ParleyClient", targets: ["ParleyClient"]),
        .library(name: "ParleyProfiles", targets: ["ParleyProfiles"]),
        .library(name: "ParleyConformance", targets: ["ParleyConformance"]),
        .library(name: "ParleyLoad", targets: ["ParleyLoad"]),
        .library(name: "ParleyTesting", targets: ["ParleyTesting"]),
        .executable(name: "parley", targets: ["parley"]),
        .executable(name: "parley-bench", targets: ["parley-bench"]),
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
    targets: wireFormatTargets + modelTargets + serverCoreTargets + serverTargets + kitTargets + testingTargets
        + executableTargets
)
