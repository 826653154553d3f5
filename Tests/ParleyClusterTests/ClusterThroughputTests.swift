import Foundation
import ParleyClient
import ParleyLoad
import Testing

/// The mission's throughput check through Kafka: 100 WebSocket clients × 100 DMs round a ring spread over two
/// nodes (even clients on node 1, odd on node 2), so every DM crosses from one node to the other.
extension KafkaClusterTests {
    @Test func hundredClientRingAcrossTwoNodesDeliversTenThousandDMsExactlyOnce() async throws {
        let clients = 100
        let messagesPerClient = 100
        try await withCluster(nodes: 2) { cluster in
            let jwt = cluster.jwt
            let credentials = ClosureCredentials { index, runID in
                let user = "ring-\(runID)-\(index)"
                return .bearer(try await jwt.issue(.access, subject: user).token, userID: user)
            }
            var settings = LoadSettings(
                endpoint: cluster.nodes[0].webSocket, mapping: ParleyChatMapping(), credentials: credentials,
                pacing: .window(100), messagesPerSender: messagesPerClient, timeout: .seconds(60), stallTimeout: .seconds(10))
            settings.additionalEndpoints = [cluster.nodes[1].webSocket]
            let result = try await RingScenario(settings: settings, clients: clients).run()

            print("""
                ring through Kafka (2 nodes): \(result.delivered) of \(result.sent) delivered in \
                \(String(format: "%.3f", result.elapsedSeconds)) s, p50 \(String(format: "%.1f", result.latency.p50)) ms, \
                p99 \(String(format: "%.1f", result.latency.p99)) ms
                """)
            let total = clients * messagesPerClient
            #expect(result.sent == total)
            #expect(result.delivered == total)
            #expect(result.lost == 0 && result.duplicates == 0 && result.outOfOrder == 0, "\(result.errors)")
            #expect(!result.timedOut)
            #expect(result.elapsedSeconds < 15)
            // Every node consumed every event (a group per node) and each published its own clients' half.
            // The sending node's own copy may trail the receiver's by a fetch.
            _ = try await eventually { cluster.nodes.allSatisfy { $0.relay.metrics.delivered >= total } }
            for node in cluster.nodes {
                #expect(node.relay.metrics.delivered == total, "\(node.id) consumed \(node.relay.metrics.delivered)")
                #expect(node.relay.metrics.acknowledged == total / 2)
            }
            for node in cluster.nodes {
                let fannedOut = node.server.broker.statistics.eventsDelivered.value
                #expect(fannedOut == total, "\(node.id)'s broker fanned out \(fannedOut) events")
            }
        }
    }
}
