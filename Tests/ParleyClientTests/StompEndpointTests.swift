import ParleyClient
import Testing

struct StompEndpointTests {
    @Test func parsesTheSupportedSchemes() throws {
        #expect(try StompEndpoint(url: "tcp://127.0.0.1:61613") == .tcp(host: "127.0.0.1", port: 61613))
        #expect(try StompEndpoint(url: "stomp://broker:1234") == .tcp(host: "broker", port: 1234))
        #expect(try StompEndpoint(url: "localhost:7000") == .tcp(host: "localhost", port: 7000))
        #expect(try StompEndpoint(url: "tcp://localhost") == .tcp(host: "localhost", port: 61613))
        #expect(try StompEndpoint(url: "ws://127.0.0.1:15674/ws") == .webSocket(host: "127.0.0.1", port: 15674, path: "/ws"))
        #expect(try StompEndpoint(url: "WS://chat:8084/ws/chat?x=1") == .webSocket(host: "chat", port: 8084, path: "/ws/chat?x=1"))
        #expect(try StompEndpoint(url: "ws://chat") == .webSocket(host: "chat", port: 80, path: "/"))
        #expect(try StompEndpoint(url: "tcp://[::1]:61613") == .tcp(host: "::1", port: 61613))
    }

    @Test func roundTripsThroughDescription() throws {
        for url in ["tcp://127.0.0.1:61613", "ws://127.0.0.1:15674/ws", "tcp://[::1]:1"] {
            #expect(try StompEndpoint(url: url).description == url)
        }
    }

    @Test(arguments: ["wss://h:1/ws", "http://h:1", "tcp://:61613", "tcp://h:0", "tcp://h:99999", "tcp://h:x", "tcp://h:1/path", "tcp://[::1"])
    func rejectsBadURLs(url: String) {
        #expect(throws: StompEndpointError.self) { try StompEndpoint(url: url) }
    }
}
