import Dispatch
import Foundation
import HummingbirdBcrypt
import JWTKit
import ParleyAccounts
import ParleyAuth

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Token verification and login throughput.
///
/// `jwt [--seconds S]`: verifications/s of one access token on one thread (Parley's verifier), plus jwt-kit's own
/// verify and token-pair issuing for comparison.
/// `login [--seconds S] [--cost C] [--clients N]`: bcrypt verifications/s at cost C (default 10) on one thread, then
/// logins/s through the real HTTP API with N concurrent clients (default: one per core).
enum AuthBenchmark {
    static func runJWT(_ arguments: [String]) -> Int32 {
        let seconds = option("--seconds", in: arguments).flatMap(Double.init) ?? 2
        return blocking {
            let secret = try JWTSecret(bytes: Array("parley-benchmark-secret-0123456789abcdef".utf8))
            let service = await JWTService(secret: secret)
            let token = try await service.issue(.access, subject: "12345").token
            print("jwt benchmark, one thread, \(seconds) s per case, token \(token.utf8.count) bytes")

            let fast = measure(seconds: seconds) { () throws -> Void in
                _ = try service.verify(token, as: .access, now: Date())
            }
            report("verify (ParleyAuth, HS256 + claims)", fast)

            let keys = JWTKeyCollection()
            await keys.add(hmac: HMACKey(from: Array("parley-benchmark-secret-0123456789abcdef".utf8)), digestAlgorithm: .sha256)
            let jwtKit = try await measureAsync(seconds: seconds) {
                _ = try await keys.verify(token, as: BenchmarkClaims.self)
            }
            report("verify (jwt-kit, for comparison)", jwtKit)

            let issue = try await measureAsync(seconds: seconds) {
                _ = try await service.issueTokenPair(subject: "12345")
            }
            report("issue access+refresh pair (jwt-kit)", issue)
        }
    }

    static func runLogin(_ arguments: [String]) -> Int32 {
        let seconds = option("--seconds", in: arguments).flatMap(Double.init) ?? 5
        let cost = option("--cost", in: arguments).flatMap(UInt8.init) ?? 10
        let clients = option("--clients", in: arguments).flatMap(Int.init)
            ?? ProcessInfo.processInfo.activeProcessorCount
        return blocking {
            print("login benchmark, bcrypt cost \(cost), \(seconds) s per case")
            let hash = try await PasswordHasher(cost: cost).hash("benchmark-passw0rd")
            let bcrypt = measure(seconds: seconds) { () throws -> Void in
                guard Bcrypt.verify("benchmark-passw0rd", hash: hash) else { throw CancellationError() }
            }
            report("bcrypt verify, one thread", bcrypt)

            let directory = NSTemporaryDirectory() + "parley-bench-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let server = try await RunningAccountServer.start(
                dataDirectory: directory,
                configuration: .init(port: 0, bcryptCost: cost, api: .init(throttle: .init(maximumFailures: .max))))
            let session = URLSession(configuration: .ephemeral)
            func post(_ path: String, _ body: [String: String]) async throws -> Int {
                var request = URLRequest(url: server.baseURL.appendingPathComponent(path))
                request.httpMethod = "POST"
                request.httpBody = try JSONSerialization.data(withJSONObject: body)
                let (_, response) = try await session.data(for: request)
                return (response as? HTTPURLResponse)?.statusCode ?? 0
            }
            _ = try await post("/auth/signup", ["loginId": "bench", "username": "Bench", "password": "benchmark-passw0rd"])
            let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
            let start = ContinuousClock.now
            let logins = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<clients {
                    group.addTask {
                        var count = 0
                        while ContinuousClock.now < deadline {
                            guard try await post("/auth/login", ["loginId": "bench", "password": "benchmark-passw0rd"]) == 200
                            else { throw CancellationError() }
                            count += 1
                        }
                        return count
                    }
                }
                return try await group.reduce(0, +)
            }
            let elapsed = ContinuousClock.now - start
            report("HTTP logins, \(clients) clients (bcrypt + tokens + SQLite)", Result(operations: logins, elapsed: elapsed))
            session.invalidateAndCancel()
            await server.shutdown()
        }
    }

    // MARK: Measuring

    struct Result {
        var operations: Int
        var elapsed: Duration
        var perSecond: Double {
            Double(operations) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
    }

    static func measure(seconds: Double, _ body: () throws -> Void) -> Result {
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int(seconds * 1000))
        let start = clock.now
        var operations = 0
        do {
            while clock.now < deadline {
                for _ in 0..<64 { try body() }  // batch so reading the clock stays negligible
                operations += 64
            }
        } catch {
            print("benchmark operation failed: \(error)")
        }
        return Result(operations: operations, elapsed: clock.now - start)
    }

    static func measureAsync(seconds: Double, _ body: () async throws -> Void) async throws -> Result {
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int(seconds * 1000))
        let start = clock.now
        var operations = 0
        while clock.now < deadline {
            for _ in 0..<16 { try await body() }
            operations += 16
        }
        return Result(operations: operations, elapsed: clock.now - start)
    }

    static func report(_ label: String, _ result: Result) {
        let rate = result.perSecond
        let formatted = rate >= 100 ? String(Int(rate.rounded())) : String(format: "%.1f", rate)
        print("  \(label.padding(toLength: 58, withPad: " ", startingAt: 0)) \(formatted) ops/s")
    }

    static func option(_ name: String, in arguments: [String]) -> String? {
        guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
        return arguments[index + 1]
    }

    /// parley-bench's entry points are synchronous; run the async work and wait for it.
    static func blocking(_ body: @escaping @Sendable () async throws -> Void) -> Int32 {
        let done = DispatchSemaphore(value: 0)
        let status = ExitStatus()
        Task {
            do {
                try await body()
            } catch {
                print("benchmark failed: \(error)")
                status.failed = true
            }
            done.signal()
        }
        done.wait()
        return status.failed ? 1 : 0
    }

    final class ExitStatus: @unchecked Sendable {
        // Written by the task before `signal()`, read after `wait()`: the semaphore orders the accesses.
        var failed = false
    }
}

/// jwt-kit needs a payload type; this one checks nothing so only the library's own work is timed.
struct BenchmarkClaims: JWTPayload {
    var sub: String
    var jti: String
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

