import Foundation
import ParleyClient
import ParleyLoad
import ParleyProfiles
import ParleyTesting
import Testing

/// The load scenarios against Parley's own chat server (in-process relay, random loopback ports, real JWTs).
struct ParleyServerLoadTests {
    @Test(arguments: [true, false])
    func ringDeliversEveryDirectMessageOnce(webSocket: Bool) async throws {
        try await withParleyServer { server in
            let result = try await RingScenario(settings: server.loadSettings(webSocket: webSocket, messages: 20), clients: 20).run()
            // The sender's own copy of each DM (Parley echoes to the sender's sessions) must not count.
            #expect(result.sent == 400)
            #expect(result.delivered == 400)
            #expect(result.lost == 0)
            #expect(result.duplicates == 0)
            #expect(result.outOfOrder == 0)
            #expect(result.connectionErrors == 0, "\(result.errors)")
        }
    }

    @Test func roomFansOutToEverySubscriber() async throws {
        try await withParleyServer { server in
            let result = try await RoomScenario(settings: server.loadSettings(webSocket: true, messages: 20), senders: 2, subscribers: 10).run()
            #expect(result.sent == 40)
            #expect(result.expected == 400)
            #expect(result.delivered == 400)
            #expect(result.lost == 0)
        }
    }

    @Test func parleyProfileDrivesARing() async throws {
        try await withParleyServer { server in
            var settings = server.loadSettings(webSocket: true, messages: 10)
            settings.mapping = ProfileDestinationMapping(profile: try ServerProfile.load(named: "parley", in: ProfileLoadTests.profiles))
            let result = try await RingScenario(settings: settings, clients: 10).run()
            #expect(result.mapping == "parley")
            #expect(result.delivered == 100)
            #expect(result.lost == 0)
        }
    }

    @Test func connectionStormIsHeldWithoutDrops() async throws {
        try await withParleyServer { server in
            let result = try await ConnectScenario(
                endpoint: server.endpoint(.webSocket),
                connections: 200, concurrency: 50, hold: .milliseconds(200), credentials: server.loadCredentials,
                serverPID: getpid()
            ).run()
            let connect = try #require(result.connect)
            #expect(connect.established == 200)
            #expect(connect.failed == 0)
            #expect(connect.droppedDuringHold == 0)
            #expect(connect.serverRSSHeldKiB != nil)
        }
    }

    /// The mission's throughput check (issue 7): 100 WebSocket clients each send 100 DMs to the next client
    /// (10,000 messages, in-process relay) through the load generator's ring scenario, in under 15 s.
    /// Prints the measured time; the benchmark (`conformance/bench/side-by-side.sh`) gives release figures.
    @Test(.timeLimit(.minutes(1)))
    func missionThroughputTenThousandDirectMessagesOverWebSocket() async throws {
        try await withParleyServer { server in
            let result = try await RingScenario(settings: server.loadSettings(webSocket: true, messages: 100), clients: 100).run()
            print("""
                mission throughput: ring 100 WebSocket clients × 100 DMs (in-process relay): \
                \(result.delivered) of 10000 delivered in \(String(format: "%.3f", result.elapsedSeconds)) s, \
                p99 \(result.latency.p99) ms
                """)
            #expect(result.sent == 10_000)
            #expect(result.delivered == 10_000)
            #expect(result.lost == 0 && result.duplicates == 0 && result.outOfOrder == 0)
            #expect(result.connectionErrors == 0, "\(result.errors)")
            #expect(!result.timedOut)
            #expect(result.elapsedSeconds < 15)
        }
    }
}

extension ParleyTestServer {
    /// Tokens minted with the server's secret; user `load-<run>-<i>` is the principal.
    var loadCredentials: any LoadCredentialProvider {
        let jwt = self.jwt
        return ClosureCredentials { index, runID in
            let user = "load-\(runID)-\(index)"
            return .bearer(try await jwt.issue(.access, subject: user).token, userID: user)
        }
    }

    /// A scenario's settings against this server: windowed pacing, `messages` per sender.
    func loadSettings(webSocket: Bool, messages: Int) -> LoadSettings {
        LoadSettings(
            endpoint: endpoint(webSocket ? .webSocket : .tcp), mapping: ParleyChatMapping(), credentials: loadCredentials,
            pacing: .window(100), messagesPerSender: messages, timeout: .seconds(30), stallTimeout: .seconds(3))
    }
}
