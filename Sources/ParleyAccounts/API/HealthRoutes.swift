import Foundation
import Hummingbird
import NIOCore

/// One thing `GET /ready` checks: a name (`database`, `relay`) and a check that returns nil when ready, else
/// why not (client-safe: it is shown in the response).
public struct ReadinessCheck: Sendable {
    /// The key naming this check in the `/ready` body.
    public var name: String
    /// Returns nil when ready, else the reason it is not.
    public var check: @Sendable () async -> String?

    /// Creates a check named `name`.
    public init(name: String, check: @escaping @Sendable () async -> String?) {
        self.name = name
        self.check = check
    }

    /// `database`: the account store answers a trivial query (``AccountStore/checkAvailable()``).
    public static func database(_ store: any AccountStore) -> ReadinessCheck {
        ReadinessCheck(name: "database") {
            do {
                try await store.checkAvailable()
                return nil
            } catch AccountStoreError.unavailable(let reason) {
                return "database not reachable: \(reason)"
            } catch {
                return "database not reachable"
            }
        }
    }
}

/// The outcome of every readiness check, as `GET /ready` returns it.
public struct ReadinessReport: Sendable, Equatable, Encodable {
    /// `ready` or `not ready`.
    public var status: String
    /// Names of the checks that failed (empty when ready).
    public var notReady: [String]
    /// Each check's name with `ready` or the reason it is not.
    public var checks: [String: String]

    /// Whether every check passed.
    public var isReady: Bool { notReady.isEmpty }

    /// Runs `checks` concurrently.
    public static func run(_ checks: [ReadinessCheck]) async -> ReadinessReport {
        let results = await withTaskGroup(of: (String, String?).self) { group in
            for check in checks { group.addTask { (check.name, await check.check()) } }
            var results: [String: String?] = [:]
            for await (name, problem) in group { results.updateValue(problem, forKey: name) }
            return results
        }
        let failed = results.compactMap { $0.value == nil ? nil : $0.key }.sorted()
        return ReadinessReport(
            status: failed.isEmpty ? "ready" : "not ready", notReady: failed,
            checks: results.mapValues { $0 ?? "ready" })
    }
}

/// `GET /health` (liveness) and `GET /ready` (readiness) on a Parley HTTP listener (the account API and the
/// `--metrics-port` listener of `parley serve`).
///
/// - `/health`: `200 {"status":"up"}` while the process serves HTTP.
/// - `/ready`: `200` when every check passes, else `503`; the body names each check and what is not ready,
///   e.g. `{"status":"not ready","notReady":["relay"],"checks":{"database":"ready","relay":"Kafka relay degraded: …"}}`.
///
/// Both answer `Cache-Control: no-store`.
public enum HealthRoutes {
    /// Adds `/health` and `/ready` (running `checks`) to `router`.
    public static func register<Context: RequestContext>(on router: Router<Context>, readiness checks: [ReadinessCheck]) {
        router.get("/health") { _, _ -> Response in
            response(status: .ok, body: #"{"status":"up"}"#)
        }
        router.get("/ready") { _, _ -> Response in
            let report = await ReadinessReport.run(checks)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let body = (try? encoder.encode(report)).map { String(decoding: $0, as: UTF8.self) } ?? #"{"status":"not ready"}"#
            return response(status: report.isReady ? .ok : .serviceUnavailable, body: body)
        }
    }

    private static func response(status: HTTPResponse.Status, body: String) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
