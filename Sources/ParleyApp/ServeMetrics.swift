import Hummingbird
import Metrics
import NIOCore
import ParleyAccounts
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

    /// Adds `GET /metrics` to `router`; `beforeEmit` runs before each scrape (gauges read at scrape time).
    public static func addRoute(to router: Router<BasicRequestContext>, beforeEmit: @escaping @Sendable () -> Void = {}) {
        router.get("/metrics") { _, _ -> Response in
            beforeEmit()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: exposition())))
        }
    }

    /// A tiny HTTP application serving `/metrics`, `/health` and `/ready` (running `readiness`), for
    /// `--metrics-port`.
    static func application(
        host: String, port: Int, readiness: [ReadinessCheck], beforeEmit: @escaping @Sendable () -> Void,
        onServerRunning: @escaping @Sendable (Int) async -> Void
    ) -> some ApplicationProtocol {
        let router = Router(context: BasicRequestContext.self)
        addRoute(to: router, beforeEmit: beforeEmit)
        HealthRoutes.register(on: router, readiness: readiness)
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "parley-metrics"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) })
    }
}
