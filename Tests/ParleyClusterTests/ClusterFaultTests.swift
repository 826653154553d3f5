import Foundation
import ParleyClient
import ParleyRelay
import ParleyTesting
import Synchronization
import Testing

/// Faults of a two-node cluster: a frozen broker and a restarted node.
extension KafkaClusterTests {
    /// 1,000 DMs from 10 senders on both nodes to one receiver per node; the broker is frozen (SIGSTOP) for
    /// 3 s once 200 receipts came back. After SIGCONT every message arrives exactly once and every sender gets
    /// every receipt, the ones in flight during the pause late.
    @Test func brokerPausedMidRunLosesNothingAndDuplicatesNothing() async throws {
        let senders = 10
        let perSender = 100
        let window = 20
        let pause = Duration.seconds(3)
        try await withCluster(nodes: 2) { cluster in
            let receivers = [
                try await cluster.client("receiver-1", on: cluster.nodes[0]),
                try await cluster.client("receiver-2", on: cluster.nodes[1]),
            ]
            let inboxes = [try await receivers[0].inbox(), try await receivers[1].inbox()]
            var clients: [StompClient] = []
            for index in 0..<senders {
                clients.append(try await cluster.client("sender-\(index)", on: cluster.nodes[index % 2]))
            }
            let senderClients = clients

            // Receipt latencies in seconds; the pause starts once enough receipts show traffic is flowing.
            let latencies = Recorder<Double>()
            let broker = cluster.broker
            let pauser = Task {
                guard await latencies.waitForCount(200, timeout: .seconds(30)) else { return false }
                let paused = broker.pause()
                try? await Task.sleep(for: pause)
                broker.resume()
                return paused
            }
            defer { pauser.cancel() }

            try await withTimeout(60, "1,000 receipted sends across the pause") {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (index, client) in senderClients.enumerated() {
                        // Sender i on node (i % 2) + 1 writes to the receiver on the other node.
                        let receiver = "receiver-\(2 - index % 2)"
                        group.addTask {
                            try await withThrowingTaskGroup(of: Void.self) { inFlight in
                                for sequence in 0..<perSender {
                                    if sequence >= window { try await inFlight.next() }
                                    inFlight.addTask {
                                        let started = ContinuousClock.now
                                        try await client.sendChat(
                                            room: "pause-\(index)", to: receiver, content: "s\(index)-\(sequence)")
                                        latencies.record(seconds(ContinuousClock.now - started))
                                    }
                                }
                                try await inFlight.waitForAll()
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            #expect(await pauser.value, "the broker was never paused: fewer than 200 receipts in 30 s, or Tansu did not stop on SIGSTOP")

            let expectedPerReceiver = senders * perSender / 2
            for (index, inbox) in inboxes.enumerated() {
                #expect(await inbox.waitFor(expectedPerReceiver, timeout: .seconds(30)), "receiver \(index + 1) got \(inbox.events.count)")
                let contents = try await inbox.settled(after: .seconds(1)).map(\.content)
                #expect(contents.count == expectedPerReceiver, "receiver \(index + 1): \(contents.count) deliveries")
                #expect(Set(contents).count == expectedPerReceiver, "receiver \(index + 1): duplicates or losses")
                let expected = Set((0..<senders).filter { 2 - $0 % 2 == index + 1 }.flatMap { sender in
                    (0..<perSender).map { "s\(sender)-\($0)" }
                })
                #expect(Set(contents) == expected, "receiver \(index + 1) is missing \(expected.subtracting(contents).count)")
            }
            let receipts = latencies.values
            #expect(receipts.count == senders * perSender, "every send got its receipt")
            let latest = receipts.max() ?? 0
            print("broker pause: 1,000 DMs, \(receipts.count) receipts, slowest receipt \(String(format: "%.2f", latest)) s (pause \(pause))")
            #expect(latest >= 2, "receipts in flight during the \(pause) pause must have come late")
            for node in cluster.nodes {
                #expect(node.relay.metrics.publishFailures == 0)
            }
            for client in senderClients + receivers { await client.close() }
        }
    }

    /// Node 2 is stopped and replaced by a new chat server + `KafkaRelay` with the same node id: it resumes from
    /// its group's committed position and delivers new messages to sessions reconnected to it.
    @Test func restartedNodeRejoinsAndDeliversNewMessages() async throws {
        try await withCluster(nodes: 2) { cluster in
            let alice = try await cluster.client("alice", on: cluster.nodes[0])
            let bob = try await cluster.client("bob", on: cluster.nodes[1])
            let bobsInbox = try await bob.inbox()
            try await alice.sendChat(room: "dm", to: "bob", content: "before restart")
            #expect(await bobsInbox.waitFor(1))
            await bob.close()

            await cluster.nodes[1].stop()
            // Published while node 2 is down: its group's committed offsets are behind these.
            for index in 0..<3 {
                try await alice.sendChat(room: "dm", to: "bob", content: "while down \(index)")
            }

            try await withChatNodes(["node-2"], on: cluster.broker) { nodes in
                let restarted = nodes[0]
                // Resumed from the committed position: the three missed events are consumed (no session wants them).
                _ = try await eventually { restarted.relay.metrics.delivered >= 3 }
                #expect(restarted.relay.metrics.delivered == 3, "restarted node consumed \(restarted.relay.metrics.delivered) of the 3 events it missed")

                let bob = try await cluster.client("bob", on: restarted)
                let bobsInbox = try await bob.inbox()
                try await alice.sendChat(room: "dm", to: "bob", content: "after restart")
                #expect(await bobsInbox.waitFor(1), "the restarted node did not deliver")
                let received = try await bobsInbox.settled()
                #expect(received.map(\.content) == ["after restart"])
                await bob.close()
                await alice.close()
            }
        }
    }
}

extension KafkaClusterTests {
    /// Issue 12 through STOMP, with a 2 s message timeout: the broker frozen for 6 s, a receipted SEND gets
    /// ERROR "… did not acknowledge it within 2000 ms" and both nodes report themselves not ready; after SIGCONT,
    /// without restarting anything, a new session's SEND on node 1 is receipted and reaches bob on node 2, and
    /// both relays are `running` again.
    @Test func sendsFailDuringALongBrokerFreezeAndBothNodesRelayAgainAfterIt() async throws {
        try await withCluster(nodes: 2, configure: { configuration in
            configuration.messageTimeout = .seconds(2)
            configuration.healthCheckInterval = .milliseconds(250)
            configuration.healthCheckTimeout = .milliseconds(500)
        }) { cluster in
            let bob = try await cluster.client("bob", on: cluster.nodes[1])
            let inbox = try await bob.inbox()
            let alice = try await cluster.client("alice", on: cluster.nodes[0])
            try await alice.sendChat(room: "dm", to: "bob", content: "before")
            #expect(await inbox.waitFor(1))

            let pausedAt = ContinuousClock.now
            #expect(cluster.broker.pause(), "Tansu did not stop on SIGSTOP")
            do {
                try await alice.sendChat(room: "dm", to: "bob", content: "during")
                Issue.record("a SEND was receipted while the broker was frozen")
            } catch let error as StompClientError {
                #expect(error.errorFrame?.headers["message"]?.contains("did not acknowledge it within 2000 ms") == true, "\(error)")
            }
            let notReady = try await eventually(timeout: .seconds(5)) { cluster.nodes.allSatisfy { !$0.relay.health.isReady } }
            #expect(notReady, "\(cluster.nodes.map { $0.relay.state })")
            try await Task.sleep(until: pausedAt + .seconds(6))
            #expect(cluster.broker.resume())
            let resumed = ContinuousClock.now

            // The node keeps accepting sessions; retry on a fresh one until a SEND is receipted again.
            var receipted: String?
            var attempt = 0
            while receipted == nil, ContinuousClock.now - resumed < .seconds(20) {
                attempt += 1
                let retry = try await cluster.client("alice", on: cluster.nodes[0], receiptTimeout: .seconds(5))
                do {
                    try await retry.sendChat(room: "dm", to: "bob", content: "after-\(attempt)")
                    receipted = "after-\(attempt)"
                } catch {
                    try await Task.sleep(for: .milliseconds(200))
                }
                await retry.close()
            }
            let recovery = ContinuousClock.now - resumed
            let content = try #require(receipted, "no SEND was receipted within 20 s of the broker resuming")
            let arrived = try await eventually(timeout: .seconds(10)) { inbox.events.values.contains { $0.content == content } }
            #expect(arrived, "bob on node 2 did not get the DM receipted after the freeze")
            let contents = try await inbox.settled().map(\.content)
            #expect(contents.filter { $0 == content }.count == 1, "\(contents)")
            let running = try await eventually(timeout: .seconds(15)) { cluster.nodes.allSatisfy { $0.relay.state == .running } }
            #expect(running, "\(cluster.nodes.map { $0.relay.state })")
            print("STOMP through a 6 s broker freeze (message timeout 2 s): receipted again \(recovery) after resume")
            await bob.close()
        }
    }
}
