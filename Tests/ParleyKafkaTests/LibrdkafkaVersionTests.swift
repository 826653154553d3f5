@testable import ParleyKafka
import Testing

@Suite struct LibrdkafkaVersionTests {
    @Test func loadedLibraryIsTheOneThatTalksToTansu() throws {
        // Fails when the rpath to .tools/lib is missing and Debian's 2.0.2 got loaded.
        try LibrdkafkaVersion.check()
        #expect(LibrdkafkaVersion.loaded >= LibrdkafkaVersion.minimumSupported)
    }

    @Test func debiansVersionIsRejectedWithTheFix() {
        let debian = LibrdkafkaVersion(hex: 0x0200_02FF)
        #expect(debian.description == "2.0.2")
        #expect(throws: KafkaRelayError.librdkafkaTooOld(found: debian)) { try LibrdkafkaVersion.check(debian) }
        let message = KafkaRelayError.librdkafkaTooOld(found: debian).description
        #expect(message.hasPrefix("librdkafka 2.0.2 found; Parley needs ≥ 2.2.0"))
        #expect(message.contains("Run .ci/setup, which links the confluent-kafka wheel's librdkafka into .tools/lib"))
        #expect(message.contains(".tools/lib"))
    }

    @Test func versionsFromTwoPointTwoOnAreAccepted() throws {
        try LibrdkafkaVersion.check(LibrdkafkaVersion(hex: 0x0202_0000))
        try LibrdkafkaVersion.check(LibrdkafkaVersion(hex: 0x0210_00FF))
        #expect(LibrdkafkaVersion(hex: 0x0210_00FF).description == "2.16.0")
    }
}

@Suite struct OffsetGapDetectorTests {
    @Test func contiguousOffsetsAreDelivered() {
        var detector = OffsetGapDetector()
        let verdicts = (5..<9).map { detector.check(partition: 0, offset: Int64($0)) }
        #expect(verdicts == Array(repeating: .deliver, count: 4))
    }

    @Test func aHoleIsRefetchedThenAcceptedAfterTheLimit() {
        var detector = OffsetGapDetector(maxAttempts: 2)
        #expect(detector.check(partition: 1, offset: 10) == .deliver)
        #expect(detector.check(partition: 1, offset: 13) == .refetch(from: 11))
        #expect(detector.check(partition: 1, offset: 13) == .refetch(from: 11))
        #expect(detector.check(partition: 1, offset: 13) == .deliver)  // a genuine hole: no endless loop
        #expect(detector.check(partition: 1, offset: 14) == .deliver)
        // Partitions are independent; an older (redelivered) offset is delivered (dedupe drops it).
        #expect(detector.check(partition: 2, offset: 0) == .deliver)
        #expect(detector.check(partition: 1, offset: 12) == .deliver)
    }

    @Test func aRefetchThatFillsTheHoleResumesNormally() {
        var detector = OffsetGapDetector()
        #expect(detector.check(partition: 0, offset: 0) == .deliver)
        #expect(detector.check(partition: 0, offset: 2) == .refetch(from: 1))
        #expect(detector.check(partition: 0, offset: 1) == .deliver)
        #expect(detector.check(partition: 0, offset: 2) == .deliver)
    }

    @Test func aHoleRightAfterAssignmentIsSeenFromTheStartOffset() {
        var detector = OffsetGapDetector(expecting: [0: 40])
        #expect(detector.check(partition: 0, offset: 42) == .refetch(from: 40))
        #expect(detector.check(partition: 0, offset: 40) == .deliver)
    }
}
