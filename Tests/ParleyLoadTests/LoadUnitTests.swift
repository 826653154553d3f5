import Foundation
import ParleyLoad
import Testing

struct SequenceTrackerTests {
    @Test func countsDuplicatesReorderingAndLoss() {
        var tracker = SequenceTracker()
        for sequence in [0, 1, 3, 2, 3, 5, 5, 5] { tracker.record(sequence) }
        #expect(tracker.unique == 5)  // 0 1 2 3 5
        #expect(tracker.duplicates == 3)
        #expect(tracker.outOfOrder == 1)  // 2 after 3
        #expect(tracker.uniqueBelow(7) == 5)  // 4 and 6 lost out of 7 sent
        #expect(tracker.uniqueBelow(4) == 4)
    }

    @Test func handlesLargeSequenceNumbers() {
        var tracker = SequenceTracker()
        for sequence in stride(from: 0, to: 10_000, by: 3) { tracker.record(sequence) }
        #expect(tracker.unique == 3334)
        #expect(tracker.uniqueBelow(10_000) == 3334)
        #expect(tracker.uniqueBelow(64) == 22)
    }
}

struct LoadPayloadTests {
    @Test func roundTripsRawAndInsideJSON() {
        let payload = LoadPayload(runID: "ab12cd", sender: 7, sequence: 42, sentNanos: 123_456_789, receiver: 8)
        let text = payload.encoded(paddedTo: 100)
        #expect(text.utf8.count == 100)
        #expect(LoadPayload(findingIn: text) == payload)
        let event = #"{"messageId":"x","roomId":"r","senderId":"u","content":"\#(text)","timestamp":"2026"}"#
        #expect(LoadPayload(findingIn: event) == payload)
        let room = LoadPayload(runID: "r", sender: 0, sequence: 0, sentNanos: 1, receiver: -1)
        #expect(LoadPayload(findingIn: #"{"content":"\#(room.encoded())"}"#) == room)
        #expect(LoadPayload(findingIn: "hello") == nil)
        #expect(LoadPayload(findingIn: "PL1|r|x|0|1|2|") == nil)
    }

    @Test func findsTheMarkerAfterFalseStartsAndRejectsBrokenFields() {
        // "P" and "PL1" without the bar are false starts the byte scanner must step over.
        let payload = LoadPayload(runID: "q", sender: 3, sequence: 9, sentNanos: 77, receiver: -1)
        #expect(LoadPayload(findingIn: "PPL1PL1x" + payload.encoded()) == payload)
        #expect(LoadPayload(findingIn: "PL1|q|3|9|77|12") == LoadPayload(runID: "q", sender: 3, sequence: 9, sentNanos: 77, receiver: 12))
        #expect(LoadPayload(findingIn: "PL1") == nil)
        #expect(LoadPayload(findingIn: "PL1|q|3|9|77|") == nil)  // receiver missing
        #expect(LoadPayload(findingIn: "PL1|q|3|9|77") == nil)
        #expect(LoadPayload(findingIn: "PL1|q|-3|9|77|1|") == nil)  // senders are never negative
        #expect(LoadPayload(findingIn: "PL1|q|3|9|99999999999999999999999|1|") == nil)  // overflows UInt64
        #expect(LoadPayload(findingIn: "PL1|q") == nil)
    }

    @Test func parleyMappingBuildsChatMessages() throws {
        let mapping = ParleyChatMapping()
        let alice = LoadParticipant(index: 0, principal: "alice", runID: "run1")
        let bob = LoadParticipant(index: 1, principal: #"b"ob"#, runID: "run1")
        let direct = mapping.directMessage(payload: "PL1|x", from: alice, to: bob)
        #expect(direct.destination == "/app/chat.sendMessage")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(direct.body.utf8)) as? [String: String])
        #expect(json == ["roomId": "load-run1", "receiverId": #"b"ob"#, "content": "PL1|x", "messageType": "TALK"])
        #expect(mapping.inboxDestination(of: bob) == "/user/queue/messages")
        #expect(mapping.roomDestination(room: "lobby", runID: "run1") == "/topic/rooms.lobby")
        let room = mapping.roomMessage(payload: "p", room: "lobby", from: alice)
        let roomJSON = try #require(try JSONSerialization.jsonObject(with: Data(room.body.utf8)) as? [String: String])
        #expect(roomJSON["receiverId"] == nil)
        #expect(roomJSON["roomId"] == "lobby")
    }
}

struct LoadThresholdTests {
    static func result(p99: Double = 5, rate: Double = 1000, lost: Int = 0) -> LoadResult {
        LoadResult(
            scenario: "ring", target: "tcp://127.0.0.1:1", mapping: "queues", runID: "r", clients: 2, senders: 2, receivers: 2,
            pacing: "window 1", sent: 10, expected: 10, delivered: 10 - lost, lost: lost, duplicates: 0, outOfOrder: 0,
            connectionErrors: 0, errors: [], elapsedSeconds: 1, deliveredPerSecond: rate, sentPerSecond: rate,
            latency: LatencySummary(count: 10, p50: 1, p90: 2, p99: p99, p999: p99, max: p99, mean: 1), timedOut: false, connect: nil)
    }

    @Test func reportsEachFailedThreshold() {
        let thresholds = LoadThresholds(maxP99Milliseconds: 10, minRate: 500, noLoss: true)
        #expect(thresholds.failures(of: Self.result()).isEmpty)
        #expect(thresholds.failures(of: Self.result(p99: 11)).count == 1)
        #expect(thresholds.failures(of: Self.result(rate: 499)).count == 1)
        #expect(thresholds.failures(of: Self.result(lost: 1)) == ["1 messages lost (--no-loss)"])
        #expect(LoadThresholds().failures(of: Self.result(p99: 1000, rate: 1, lost: 5)).isEmpty)
    }

    @Test func jsonHasTheDocumentedFields() throws {
        let object = try #require(try JSONSerialization.jsonObject(with: Self.result().jsonData()) as? [String: Any])
        for key in ["scenario", "sent", "delivered", "lost", "duplicates", "outOfOrder", "latency", "deliveredPerSecond", "elapsedSeconds"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        let latency = try #require(object["latency"] as? [String: Any])
        #expect(Set(latency.keys) == ["count", "p50", "p90", "p99", "p999", "max", "mean"])
    }
}
