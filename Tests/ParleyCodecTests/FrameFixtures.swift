import Foundation
import ParleyCodec
import ParleyCodecJSON

/// One golden fixture pair from `Fixtures/frames`.
struct LoadedFixture: Sendable, CustomStringConvertible {
    var name: String
    var wire: [UInt8]
    var expectation: StompFrameFixture

    var description: String { name }

    /// Decodes the wire bytes the way the fixture says (version, limits), optionally in chunks.
    func decode(chunkSizes: [Int]? = nil) throws -> StompDecodeOutcome {
        StompDecodeOutcome.decode(
            wire, version: try expectation.stompVersion(), limits: expectation.limits?.resolved ?? .default,
            chunkSizes: chunkSizes)
    }
}

enum FrameFixtures {
    /// `Fixtures/frames` of this checkout, found from this source file.
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/frames")

    /// Every `NAME.stomp` with its `NAME.json`, sorted by name; a missing or unreadable twin is an error.
    static func load() throws -> [LoadedFixture] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".stomp") }
            .map { String($0.dropLast(".stomp".count)) }
            .sorted()
        return try names.map { name in
            let wire = try Data(contentsOf: directory.appendingPathComponent(name + ".stomp"))
            let json = try Data(contentsOf: directory.appendingPathComponent(name + ".json"))
            let expectation = try JSONDecoder().decode(StompFrameFixture.self, from: json)
            return LoadedFixture(name: name, wire: [UInt8](wire), expectation: expectation)
        }
    }

    /// Loaded once for the parameterised Swift Testing cases.
    static let all: [LoadedFixture] = (try? load()) ?? []
}

/// Deterministic generator so a failing property test can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
