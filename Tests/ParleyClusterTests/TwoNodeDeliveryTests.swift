import Foundation
import ParleyClient
import ParleyRelay
import ParleyTesting
import Synchronization
import Testing

/// Two chat nodes on one Tansu: every event crosses Kafka and reaches the sessions of whichever node holds them.
extension KafkaClusterTests {
    @Test func directMessageCrossesNodesExactlyOnce() async throws {
        try await withCluster(nodes: 2) { cluster in
            let alice = try await cluster.client("alice", on: cluster.nodes[0])
            let bob = try await cluster.client("bob", on: cluster.nodes[1])
            let alicesInbox = try await alice.inbox()
            let bobsInbox = try await bob.inbox()

            try await alice.sendChat(room: "dm-alice-bob", to: "bob", content: "hello bob")

            #expect(await bobsInbox.waitFor(1), "bob on node 2 never got alice's DM")
            let received = try await bobsInbox.settled()
            #expect(received.count == 1, "bob got \(received.count) copies")
            #expect(received.first?.content == "hello bob")
            #expect(received.first?.senderId == "alice")
            #expect(received.first?.receiverId == "bob")
            #expect(alicesInbox.events.count == 0, "a DM is for its receiver only")
            #expect(bobsInbox.failures.values.isEmpty, "\(bobsInbox.failures.values)")
            // Both nodes consumed the event (a group per node); only node 2 had a session for it.
            #expect(cluster.nodes[0].relay.metrics.acknowledged == 1)
            #expect(try await eventually { cluster.nodes.allSatisfy { $0.relay.metrics.delivered >= 1 } })
            #expect(cluster.nodes.map(\.relay.metrics.delivered) == [1, 1])
            await alice.close()
            await bob.close()
        }
    }

    @Test func roomBroadcastReachesSubscribersOnBothNodes() async throws {
        try await withCluster(nodes: 2) { cluster in
            let alice = try await cluster.client("alice", on: cluster.nodes[0])
            let carol = try await cluster.client("carol", on: cluster.nodes[0])
            let dave = try await cluster.client("dave", on: cluster.nodes[1], tcp: true)
            let carolsRoom = try await carol.inbox("/topic/rooms.lobby")
            let davesRoom = try await dave.inbox("/topic/rooms.lobby")
            let davesOtherRoom = try await dave.inbox("/topic/rooms.elsewhere")

            try await alice.sendChat(room: "lobby", content: "hi all")

            for (name, inbox) in [("carol (node 1)", carolsRoom), ("dave (node 2)", davesRoom)] {
                #expect(await inbox.waitFor(1), "\(name) never got the room message")
                let received = try await inbox.settled()
                #expect(received.map(\.content) == ["hi all"], "\(name) got \(received.map(\.content))")
                #expect(received.first?.roomId == "lobby")
                #expect(received.first?.receiverId == nil)
            }
            #expect(davesOtherRoom.events.count == 0, "another room's subscriber got the message")
            for client in [alice, carol, dave] { await client.close() }
        }
    }

    @Test func receiverWithSessionsOnBothNodesGetsTheMessageOnEach() async throws {
        try await withCluster(nodes: 2) { cluster in
            let alice = try await cluster.client("alice", on: cluster.nodes[1])
            let bobOnNode1 = try await cluster.client("bob", on: cluster.nodes[0])
            let bobOnNode2 = try await cluster.client("bob", on: cluster.nodes[1])
            let inboxes = [try await bobOnNode1.inbox(), try await bobOnNode2.inbox()]

            try await alice.sendChat(room: "dm-alice-bob", to: "bob", content: "to every bob")

            for (index, inbox) in inboxes.enumerated() {
                #expect(await inbox.waitFor(1), "bob's session on node \(index + 1) never got the DM")
                let received = try await inbox.settled()
                #expect(received.map(\.content) == ["to every bob"], "session on node \(index + 1): \(received.map(\.content))")
            }
            #expect(Set(inboxes.flatMap { $0.events.values.map(\.messageId) }).count == 1, "one event, one messageId")
            for client in [alice, bobOnNode1, bobOnNode2] { await client.close() }
        }
    }

    /// With the broker frozen nothing can be acknowledged, so no RECEIPT may arrive; it comes after SIGCONT.
    @Test func receiptComesOnlyAfterKafkaAcknowledged() async throws {
        try await withCluster(nodes: 2) { cluster in
            let alice = try await cluster.client("alice", on: cluster.nodes[0])
            let bob = try await cluster.client("bob", on: cluster.nodes[1])
            let bobsInbox = try await bob.inbox()
            let before = cluster.nodes[0].relay.metrics

            #expect(cluster.broker.pause(), "Tansu did not stop on SIGSTOP")
            let receipted = Mutex<ContinuousClock.Instant?>(nil)
            let send = Task {
                try await alice.sendChat(room: "dm-alice-bob", to: "bob", content: "acked first")
                receipted.withLock { $0 = .now }
            }
            try await Task.sleep(for: .milliseconds(1500))
            let receiptWhilePaused = receipted.withLock { $0 } != nil
            let acknowledgedWhilePaused = cluster.nodes[0].relay.metrics.acknowledged - before.acknowledged
            let resumedAt = ContinuousClock.now
            cluster.broker.resume()

            #expect(!receiptWhilePaused, "RECEIPT sent while Kafka could not have acknowledged")
            #expect(acknowledgedWhilePaused == 0)
            try await withTimeout(30, "the RECEIPT after SIGCONT") { try await send.value }
            let receiptAt = try #require(receipted.withLock { $0 })
            #expect(receiptAt > resumedAt)
            #expect(cluster.nodes[0].relay.metrics.acknowledged == before.acknowledged + 1)
            #expect(await bobsInbox.waitFor(1, timeout: .seconds(30)))
            let received = try await bobsInbox.settled()
            #expect(received.map(\.content) == ["acked first"])
            await alice.close()
            await bob.close()
        }
    }
}
