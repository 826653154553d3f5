import Foundation
import ParleyClient
import ParleyProfiles
import ParleyRelay
import Testing

/// The repository's `conformance/profiles` folder, found from this file's path.
let profilesDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("conformance/profiles")

@Suite struct ProfileLoadingTests {
    @Test(arguments: ["parley", "spring", "rabbitmq", "activemq"])
    func shippedProfileLoads(name: String) throws {
        let profile = try ServerProfile.load(named: name, in: profilesDirectory)
        #expect(profile.name == name)
        #expect(profile.capabilities.contains("generic"))
        #expect(!profile.connection.urls.isEmpty)
    }

    @Test func parleyMapsSpringDestinations() throws {
        let profile = try ServerProfile.load(named: "parley", in: profilesDirectory)
        // The profile spells out the chat's destinations; they must stay the ones the broker serves.
        #expect(profile.destinations.room("general") == "/topic/rooms.general")
        #expect(profile.destinations.room("general") == ChatDestinations.room("general"))
        #expect(profile.destinations.userQueue(of: "42") == ChatDestinations.directMessages)
        let dm = profile.destinations.directMessage(to: "7", from: "3", content: "hi \"bob\"", room: "r1")
        #expect(dm.destination == ChatDestinations.sendMessage)
        #expect(profile.destinations.roomMessage(room: "r1", from: "3", content: "x").destination == ChatDestinations.sendMessage)
        #expect(dm.headers.map(\.0) == ["content-type"])
        let body = try JSONValue(text: dm.body)
        #expect(body[path: "receiverId"] == .string("7"))
        #expect(body[path: "content"] == .string("hi \"bob\""))
        #expect(profile.auth.userID == .tokenSubject)
    }

    @Test func rabbitMQUsesPlainQueuesAndVhost() throws {
        let profile = try ServerProfile.load(named: "rabbitmq", in: profilesDirectory)
        #expect(profile.connection.hostHeader == "/")
        #expect(profile.destinations.userQueue(of: "bob-1") == "/queue/bob-1")
        #expect(profile.destinations.directMessage(to: "bob-1", from: "a", content: "x").body == "x")
        #expect(!profile.deviations(for: "receipt-on-disconnect", transport: .websocket).isEmpty)
        #expect(profile.deviations(for: "receipt-on-disconnect", transport: .tcp).isEmpty)
    }

    @Test func unknownProfileNamesTheAvailableOnes() {
        #expect {
            try ServerProfile.load(named: "nosuch", in: profilesDirectory)
        } throws: { error in
            "\(error)".contains("available: activemq, parley, rabbitmq, spring")
        }
    }

    @Test func missingKeyIsReportedWithItsPath() {
        let yaml = """
            name: broken
            connection: {urls: {tcp: "tcp://127.0.0.1:1"}}
            auth: {method: none}
            destinations: {room: "/topic/{room}", user_queue: "/queue/{user}", room_send: {body: x}, direct_send: {destination: "/queue/{to}"}}
            """
        #expect(throws: ProfileError(source: "t", message: "missing key 'destination' in destinations.room_send")) {
            try ServerProfile.parse(yaml: yaml, source: "t")
        }
    }

    @Test func bearerWithoutAccountAPIIsRejected() {
        let yaml = """
            name: b
            connection: {urls: {websocket: "ws://127.0.0.1:1/ws"}}
            auth: {method: bearer}
            destinations: {room: "/topic/{room}", user_queue: "/queue/{user}", room_send: {destination: x}, direct_send: {destination: y}}
            """
        #expect(throws: ProfileError(source: "b", message: "auth.method bearer needs auth.account_api")) {
            try ServerProfile.parse(yaml: yaml, source: "b")
        }
    }

    @Test func badURLSchemeIsRejected() {
        let yaml = """
            name: u
            connection: {urls: {tcp: "http://127.0.0.1:1"}}
            auth: {method: none}
            destinations: {room: "/topic/{room}", user_queue: "/queue/{user}", room_send: {destination: x}, direct_send: {destination: y}}
            """
        #expect(throws: ProfileError(source: "u", message: "connection.urls.tcp 'http://127.0.0.1:1' is not a tcp:// or ws:// URL")) {
            try ServerProfile.parse(yaml: yaml, source: "u")
        }
    }
}

@Suite struct TemplateTests {
    @Test func rendersPlainAndJSONPlaceholders() {
        #expect(Template.render("/topic/rooms.{room}", ["room": "a"]) == "/topic/rooms.a")
        #expect(Template.render("{\"c\": {c|json}}", ["c": "line\n\"q\"\u{1}"]) == "{\"c\": \"line\\n\\\"q\\\"\\u0001\"}")
        #expect(Template.render("{unknown} {x}", ["x": "1"]) == "{unknown} 1")
    }

    @Test func jsonPathsReachNestedValues() throws {
        let value = try JSONValue(text: #"{"a": {"b": [1, {"c": "d"}]}, "t": true, "n": 3}"#)
        #expect(value[path: "a.b.1.c"] == .string("d"))
        #expect(value[path: "a.b.0"]?.textValue == "1")
        #expect(value[path: "t"] == .bool(true))
        #expect(value[path: "n"]?.textValue == "3")
        #expect(value[path: "a.x"] == nil)
    }
}

@Suite struct CredentialTests {
    @Test func parleyBuiltInAuthIsTheShippedProfiles() throws {
        // Runs without a profile file (`parley load --profile parley`) must behave like runs with parley.yaml.
        let profile = try ServerProfile.load(named: "parley", in: profilesDirectory)
        #expect(profile.auth == .parley)
        #expect(profile.auth.accountAPI == .parley)
    }

    @Test func directCredentialsCarryTheirConnectHeaders() {
        let bearer = ClientCredentials.bearer("t0k", userID: "7")
        #expect(bearer.connectHeaders == [.init("Authorization", "Bearer t0k")])
        #expect(bearer.accessToken == "t0k")
        #expect(bearer.userID == "7")
        #expect(ClientCredentials.login("guest", passcode: "pw").connectHeaders == [.init("login", "guest"), .init("passcode", "pw")])
        #expect(ClientCredentials.login(nil, passcode: "pw").connectHeaders == [.init("passcode", "pw")])
        #expect(ClientCredentials.login("guest", passcode: nil).login == "guest")
        #expect(ClientCredentials().connectHeaders.isEmpty)
    }

    @Test func loginProfilesRenderPerUserCredentials() async throws {
        let profile = try ServerProfile.load(named: "activemq", in: profilesDirectory)
        let provider = try CredentialProvider(profile: profile, runID: "run1")
        let alice = try await provider.credentials(for: "alice")
        #expect(alice.userID == "alice-run1")
        #expect(alice.connectHeaders == [.init("login", "alice-run1"), .init("passcode", "secret")])
    }

    @Test func unreachableAccountAPIGivesAClearError() async throws {
        let profile = try ServerProfile.load(named: "parley", in: profilesDirectory)
        // Port 9 (discard) is closed on loopback here: the connection is refused.
        let provider = try CredentialProvider(profile: profile, accountURL: URL(string: "http://127.0.0.1:9"), runID: "r")
        await #expect {
            try await provider.credentials(for: "alice")
        } throws: { error in
            "\(error)".hasPrefix("account API signup alice-r failed")
        }
    }
}

@Suite struct EndpointTests {
    @Test func profileURLsBecomeClientEndpoints() throws {
        let profile = try ServerProfile.load(named: "rabbitmq", in: profilesDirectory)
        let ws = try #require(profile.defaultEndpoint(for: .websocket))
        #expect(ws.port == 15674)
        #expect(ws.transport == .webSocket(path: "/ws"))
        #expect(TransportKind(ws) == .websocket)
        #expect(profile.defaultEndpoint(for: .tcp)?.port == 61613)
        #expect(throws: StompEndpointError.self) { try ServerProfile.endpoint(url: "http://x:1") }
    }

    @Test func connectHeadersUseVhostAndCredentials() async throws {
        let profile = try ServerProfile.load(named: "rabbitmq", in: profilesDirectory)
        let credentials = try await CredentialProvider(profile: profile, runID: "r").credentials(for: "alice")
        let headers = profile.connectHeaders(for: credentials, fallbackHost: "localhost")
        #expect(headers.map(\.0) == ["accept-version", "host", "heart-beat", "login", "passcode"])
        #expect(headers[1].1 == "/")
        #expect(headers[3].1 == "guest")
    }
}
