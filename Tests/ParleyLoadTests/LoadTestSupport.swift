import Foundation
import ParleyClient
import ParleyCodec
import ParleyLoad
import Testing

enum RabbitMQ {
    static let stompAddress = ProcessInfo.processInfo.environment["PARLEY_RABBITMQ_STOMP"]
    static let webSocketURL = ProcessInfo.processInfo.environment["PARLEY_RABBITMQ_WS"]
    static let skipReason: Comment = "PARLEY_RABBITMQ_STOMP / PARLEY_RABBITMQ_WS not set: start RabbitMQ with conformance/peers/rabbitmq.sh"
    static var isConfigured: Bool { stompAddress != nil && webSocketURL != nil }

    static var endpoints: [StompEndpoint] {
        var result: [StompEndpoint] = []
        if let stompAddress, let endpoint = try? StompEndpoint(url: "tcp://\(stompAddress)") { result.append(endpoint) }
        if let webSocketURL, let endpoint = try? StompEndpoint(url: webSocketURL) { result.append(endpoint) }
        return result
    }

    static var options: StompClient.Options { StompClient.Options(host: "/", login: "guest", passcode: "guest") }

    static func settings(_ endpoint: StompEndpoint, messages: Int, pacing: LoadPacing = .window(16)) -> LoadSettings {
        LoadSettings(
            endpoint: endpoint, mapping: BrokerQueueMapping(), clientOptions: options, pacing: pacing,
            messagesPerSender: messages, timeout: .seconds(30), stallTimeout: .seconds(3))
    }
}
