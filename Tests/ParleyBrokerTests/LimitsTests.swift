import NIOCore
import NIOEmbedded
import ParleyBroker
import ParleyCodec
import Testing

/// Byte budgets, transaction caps, the frame deadline and the slow-consumer ERROR, through a real session handler.
@Suite struct LimitsTests {
    static let chunk = String(repeating: "x", count: 8 * 1024)

    @Test func transactionBytesCountAgainstTheSessionBudget() async throws {
        let broker = try await makeBroker(BrokerConfiguration(sessionMemoryBudget: 64 * 1024, allowClientTopicSends: true))
        let session = try TestSession(broker, loop: EmbeddedEventLoop())
        try session.connect("alice")
        try session.send(.begin, [("transaction", "t1")])
        try session.send(.begin, [("transaction", "t2")])
        for index in 0..<8 {
            try session.send(.send, [("destination", "/topic/a"), ("transaction", index % 2 == 0 ? "t1" : "t2")], body: Self.chunk)
        }
        try session.expectError(containing: "session memory budget of 65536 bytes exceeded")
    }

    @Test func openTransactionsAreCapped() async throws {
        let broker = try await makeBroker(BrokerConfiguration(maxOpenTransactions: 2))
        let session = try TestSession(broker, loop: EmbeddedEventLoop())
        try session.connect("alice")
        try session.send(.begin, [("transaction", "t1")])
        try session.send(.begin, [("transaction", "t2")])
        try session.send(.begin, [("transaction", "t3"), ("receipt", "b3")])
        try session.expectError(containing: "too many open transactions (limit 2)", receiptId: "b3")
    }

    @Test func unacknowledgedBytesCountAgainstTheSessionBudget() async throws {
        let broker = try await makeBroker(BrokerConfiguration(sessionMemoryBudget: 64 * 1024, allowClientTopicSends: true))
        let loop = EmbeddedEventLoop()
        let reader = try TestSession(broker, loop: loop)
        let writer = try TestSession(broker, loop: loop)
        try reader.connect("reader")
        try writer.connect("writer")
        try reader.subscribe("1", "/topic/big", ack: "client")
        for _ in 0..<10 { try writer.send(.send, [("destination", "/topic/big")], body: Self.chunk) }
        let frames = try reader.frames()
        #expect(frames.filter { $0.command == .message }.count == 7, "the 8th message passes 64 KiB held unacknowledged")
        #expect(frames.last?.command == .error)
        #expect(frames.last?.headers["message"]?.contains("session memory budget of 65536 bytes exceeded") == true)
        #expect(broker.statistics.slowConsumerDisconnects.value == 1)
    }

    @Test func anUnfinishedFrameCountsAgainstTheSessionBudget() async throws {
        let broker = try await makeBroker(BrokerConfiguration(sessionMemoryBudget: 64 * 1024))
        let session = try TestSession(broker, loop: EmbeddedEventLoop())
        try session.connect("alice")
        try session.sendRaw("SEND\ndestination:/topic/a\n\n" + String(repeating: "y", count: 100 * 1024))
        try session.expectError(containing: "session memory budget of 65536 bytes exceeded")
    }

    @Test func aFrameMustCompleteWithinTheDeadline() async throws {
        let broker = try await makeBroker(BrokerConfiguration(frameCompletionTimeout: .seconds(2)))
        let loop = EmbeddedEventLoop()
        let session = try TestSession(broker, loop: loop)
        try session.connect("alice")
        try session.sendRaw("SEND\ndestination:/topic/a\n\nhal")
        loop.advanceTime(by: .seconds(1))
        try session.sendRaw("f a fra")  // dribbling does not restart the clock
        loop.advanceTime(by: .milliseconds(999))
        #expect(try session.frames().isEmpty)
        loop.advanceTime(by: .milliseconds(1))
        try session.expectError(containing: "frame not completed within 2000 ms of its first byte")
    }

    @Test func completedFramesResetTheDeadline() async throws {
        let broker = try await makeBroker(BrokerConfiguration(frameCompletionTimeout: .seconds(2)))
        let loop = EmbeddedEventLoop()
        let session = try TestSession(broker, loop: loop)
        try session.connect("alice")
        for _ in 0..<4 {
            try session.sendRaw("SUBSCRIBE\nid:x\ndestination:/topic/a\n\n\0UNSUBSCRIBE\nid:x\n\n\0SUBS")
            loop.advanceTime(by: .seconds(1))
            try session.sendRaw("CRIBE\nid:y\ndestination:/topic/a\n\n\0UNSUBSCRIBE\nid:y\n\n\0")
            loop.advanceTime(by: .seconds(1))
        }
        #expect(try session.frames().isEmpty)
        #expect(!session.isClosed)
    }

    @Test func theNodeBudgetStopsTheSessionThatPassesIt() async throws {
        let broker = try await makeBroker(BrokerConfiguration(nodeMemoryBudget: 256 * 1024, allowClientTopicSends: true))
        let loop = EmbeddedEventLoop()
        let first = try TestSession(broker, loop: loop)
        let second = try TestSession(broker, loop: loop)
        let writer = try TestSession(broker, loop: loop)
        for (session, name) in [(first, "first"), (second, "second"), (writer, "writer")] { try session.connect(name) }
        try first.subscribe("1", "/topic/one", ack: "client")
        try second.subscribe("1", "/topic/two", ack: "client")
        for _ in 0..<12 { try writer.send(.send, [("destination", "/topic/one")], body: Self.chunk) }
        #expect(try first.frames().filter { $0.command == .message }.count == 12)
        for _ in 0..<40 { try writer.send(.send, [("destination", "/topic/two")], body: Self.chunk) }
        let frames = try second.frames()
        #expect(frames.last?.headers["message"]?.contains("server memory budget of 262144 bytes exceeded") == true)
        #expect(broker.memoryInUse <= 256 * 1024)
        #expect(!first.isClosed, "the session already holding its share keeps it")
    }

    @Test func parkedFramesGoOutWhenTheChannelIsWritableAgain() async throws {
        let broker = try await makeBroker()
        let loop = EmbeddedEventLoop()
        let reader = try TestSession(broker, loop: loop)
        let writer = try TestSession(broker, loop: loop)
        try reader.connect("reader")
        try writer.connect("writer")
        try reader.subscribe("1", "/topic/a")
        reader.channel.isWritable = false
        reader.channel.pipeline.fireChannelWritabilityChanged()
        for index in 0..<5 { try writer.send(.send, [("destination", "/topic/a")], body: "m\(index)") }
        #expect(try reader.frames().isEmpty, "parked while the channel is not writable")
        reader.channel.isWritable = true
        reader.channel.pipeline.fireChannelWritabilityChanged()
        #expect(try reader.frames().map(\.bodyString) == ["m0", "m1", "m2", "m3", "m4"])
    }

    /// A slow consumer's ERROR goes out right behind what the channel already took: the frames parked for it are
    /// dropped whole, so the client gets complete frames, then the ERROR, then the close.
    @Test func slowConsumerGetsItsErrorWithoutTheParkedFrames() async throws {
        let broker = try await makeBroker(BrokerConfiguration(outboundBufferLimit: 64 * 1024, allowClientTopicSends: true))
        let loop = EmbeddedEventLoop()
        let reader = try TestSession(broker, loop: loop)
        let writer = try TestSession(broker, loop: loop)
        try reader.connect("reader")
        try writer.connect("writer")
        try reader.subscribe("1", "/topic/flood")
        try writer.send(.send, [("destination", "/topic/flood")], body: "before")
        reader.channel.isWritable = false
        reader.channel.pipeline.fireChannelWritabilityChanged()
        for _ in 0..<12 { try writer.send(.send, [("destination", "/topic/flood")], body: Self.chunk) }
        let frames = try reader.frames()
        #expect(frames.map(\.command) == [.message, .error])
        #expect(frames.first?.bodyString == "before")
        #expect(frames.last?.headers["message"] == "slow consumer: more than 65536 bytes waiting to be sent")
        #expect(reader.isClosed)
    }
}
