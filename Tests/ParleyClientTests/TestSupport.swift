import Foundation
import ParleyClient
import ParleyCodec

/// Fails with `TimeoutError` when `body` does not finish within `seconds`, so no test can hang.
@discardableResult
func withTimeout<T: Sendable>(
    _ seconds: Double,
    _ what: String = "operation",
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw TimeoutError(what: what, seconds: seconds)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

struct TimeoutError: Error, CustomStringConvertible {
    var what: String
    var seconds: Double
    var description: String { "\(what) did not finish within \(seconds) s" }
}

/// RabbitMQ endpoints from the environment (set by CI or `eval "$(conformance/peers/rabbitmq.sh start)"`).
enum RabbitMQ {
    static let stompAddress = ProcessInfo.processInfo.environment["PARLEY_RABBITMQ_STOMP"]
    static let webSocketURL = ProcessInfo.processInfo.environment["PARLEY_RABBITMQ_WS"]
    static let skipReason: Comment = "PARLEY_RABBITMQ_STOMP / PARLEY_RABBITMQ_WS not set: start RabbitMQ with conformance/peers/rabbitmq.sh"

    static var isConfigured: Bool { stompAddress != nil && webSocketURL != nil }

    /// Both transports, for parameterised tests.
    static var endpoints: [StompEndpoint] {
        var result: [StompEndpoint] = []
        if let stompAddress, let endpoint = try? StompEndpoint(url: "tcp://\(stompAddress)") { result.append(endpoint) }
        if let webSocketURL, let endpoint = try? StompEndpoint(url: webSocketURL) { result.append(endpoint) }
        return result
    }

    /// guest/guest on vhost `/`.
    static func options(heartBeat: StompHeartBeat = StompHeartBeat(send: 0, receive: 0)) -> StompClient.Options {
        StompClient.Options(host: "/", login: "guest", passcode: "guest", heartBeat: heartBeat)
    }

    /// A queue name no earlier run used (RabbitMQ queues are durable).
    static func uniqueQueue(_ label: String) -> String {
        "/queue/parley-test-\(label)-\(UUID().uuidString.prefix(8))"
    }
}

import Testing

/// Polls `condition` every 10 ms until it holds (callers bound the wait with ``withTimeout(_:_:_:)``).
func waitUntil(_ condition: @escaping @Sendable () -> Bool) async throws {
    while !condition() { try await Task.sleep(for: .milliseconds(10)) }
}
