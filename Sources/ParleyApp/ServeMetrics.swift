import Hummingbird
import Metrics
import NIOCore
import Prometheus
import Synchronization

/// The process's Prometheus registry behind swift-metrics, served as text at `/metrics`.
///
/// swift-metrics allows one bootstrap per process, and counters created before it stay no-ops, so
/// ``bootstrap()`` runs before any server is built and is idempotent (tests start many servers in one process).
public enum ServeMetrics {
    /// The registry every Parley counter reports to once bootstrapped.
    public static let registry = PrometheusCollectorRegistry()
    private static let bootstrapped = Mutex(false)

    /// Installs the Prometheus backend for swift-metrics, once per process.
    public static func bootstrap() {
        bootstrapped.withLock { done in
            guard !done else { return }
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            done = true
        }
    }

    /// The current values in the Prometheus text exposition format.
    public static func exposition() -> String {
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Adds `GET /metrics` to `router`.
    public static func addRoute(to router: Router<BasicRequestContext>) {
        router.get("/metrics") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: exposition())))
        }
    }

    /// A tiny HTTP application serving only `/metrics`, for nodes without the account API.
    static func application(host: String, port: Int, onServerRunning: @escaping @Sendable (Int) async -> Void)
        -> some ApplicationProtocol
    {
        let router = Router(context: BasicRequestContext.self)
        addRoute(to: router)
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "parley-metrics"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) })
    }
}
