import Foundation

/// Latency percentiles in milliseconds.
public struct LatencySummary: Sendable, Hashable, Codable {
    /// Number of latency samples (unique deliveries).
    public var count: UInt64
    /// Median.
    public var p50: Double
    /// 90th percentile.
    public var p90: Double
    /// 99th percentile.
    public var p99: Double
    /// 99.9th percentile.
    public var p999: Double
    /// Largest value.
    public var max: Double
    /// Arithmetic mean.
    public var mean: Double

    /// Creates a value from all its fields.
    public init(
        count: UInt64,
        p50: Double,
        p90: Double,
        p99: Double,
        p999: Double,
        max: Double,
        mean: Double
    ) {
        self.count = count
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
        self.p999 = p999
        self.max = max
        self.mean = mean
    }

    /// All zero (no samples).
    public static let empty = LatencySummary(count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0)
}

/// Outcome of the `connect` scenario.
public struct ConnectSummary: Sendable, Hashable, Codable {
    /// Connections attempted.
    public var attempted: Int
    /// Sessions established (CONNECTED received).
    public var established: Int
    /// Attempts that failed (refused, rejected, timed out).
    public var failed: Int
    /// Established sessions per second during the storm.
    public var connectRate: Double
    /// Seconds the storm took.
    public var connectSeconds: Double
    /// Seconds the sessions were held idle.
    public var holdSeconds: Double
    /// Sessions that ended during the hold (server closed, heart-beat timeout).
    public var droppedDuringHold: Int
    /// Server RSS before connecting, KiB (when a PID was given).
    public var serverRSSBeforeKiB: Int?
    /// Server RSS with all sessions held, KiB.
    public var serverRSSHeldKiB: Int?
    /// (held − before) / established, bytes.
    public var serverBytesPerConnection: Int?
    /// Creates a value from all its fields.
    public init(
        attempted: Int,
        established: Int,
        failed: Int,
        connectRate: Double,
        connectSeconds: Double,
        holdSeconds: Double,
        droppedDuringHold: Int,
        serverRSSBeforeKiB: Int?,
        serverRSSHeldKiB: Int?,
        serverBytesPerConnection: Int?
    ) {
        self.attempted = attempted
        self.established = established
        self.failed = failed
        self.connectRate = connectRate
        self.connectSeconds = connectSeconds
        self.holdSeconds = holdSeconds
        self.droppedDuringHold = droppedDuringHold
        self.serverRSSBeforeKiB = serverRSSBeforeKiB
        self.serverRSSHeldKiB = serverRSSHeldKiB
        self.serverBytesPerConnection = serverBytesPerConnection
    }

}

/// Everything a scenario measured; also the `--json` document.
public struct LoadResult: Sendable, Hashable, Codable {
    /// `ring`, `room` or `connect`.
    public var scenario: String
    /// Endpoint URL.
    public var target: String
    /// Destination mapping name (`parley`, `queues`).
    public var mapping: String
    /// Run id (part of queue names and payloads).
    public var runID: String
    /// Connections used.
    public var clients: Int
    /// Sending clients.
    public var senders: Int
    /// Receiving clients.
    public var receivers: Int
    /// `window K` or `rate R/s`.
    public var pacing: String
    /// Messages sent.
    public var sent: Int
    /// Deliveries expected (sent × receivers per message).
    public var expected: Int
    /// Distinct deliveries received.
    public var delivered: Int
    /// Expected deliveries that never arrived.
    public var lost: Int
    /// Deliveries received more than once.
    public var duplicates: Int
    /// Deliveries that overtook a later-numbered one of the same sender.
    public var outOfOrder: Int
    /// Connections that failed to open or died during the run.
    public var connectionErrors: Int
    /// The first few error texts.
    public var errors: [String]
    /// Seconds from the first send to the last delivery.
    public var elapsedSeconds: Double
    /// Delivered per second over `elapsedSeconds`.
    public var deliveredPerSecond: Double
    /// Sent per second over the sending phase.
    public var sentPerSecond: Double
    /// Send→receive latency.
    public var latency: LatencySummary
    /// True when the hard timeout stopped the run.
    public var timedOut: Bool
    /// `connect` scenario details.
    public var connect: ConnectSummary?

    /// Creates a value from all its fields.
    public init(
        scenario: String,
        target: String,
        mapping: String,
        runID: String,
        clients: Int,
        senders: Int,
        receivers: Int,
        pacing: String,
        sent: Int,
        expected: Int,
        delivered: Int,
        lost: Int,
        duplicates: Int,
        outOfOrder: Int,
        connectionErrors: Int,
        errors: [String],
        elapsedSeconds: Double,
        deliveredPerSecond: Double,
        sentPerSecond: Double,
        latency: LatencySummary,
        timedOut: Bool,
        connect: ConnectSummary?
    ) {
        self.scenario = scenario
        self.target = target
        self.mapping = mapping
        self.runID = runID
        self.clients = clients
        self.senders = senders
        self.receivers = receivers
        self.pacing = pacing
        self.sent = sent
        self.expected = expected
        self.delivered = delivered
        self.lost = lost
        self.duplicates = duplicates
        self.outOfOrder = outOfOrder
        self.connectionErrors = connectionErrors
        self.errors = errors
        self.elapsedSeconds = elapsedSeconds
        self.deliveredPerSecond = deliveredPerSecond
        self.sentPerSecond = sentPerSecond
        self.latency = latency
        self.timedOut = timedOut
        self.connect = connect
    }

    /// JSON, pretty-printed with sorted keys.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// The human summary table printed at the end of `parley load`.
    public var summaryTable: String {
        var rows: [(String, String)] = [
            ("scenario", "\(scenario) (\(mapping)) → \(target)"),
            ("run", runID),
        ]
        if let connect {
            rows += [
                ("connections", "\(connect.established)/\(connect.attempted) established, \(connect.failed) failed"),
                ("connect rate", String(format: "%.0f sessions/s over %.2f s", connect.connectRate, connect.connectSeconds)),
                ("held", String(format: "%.1f s, %d dropped", connect.holdSeconds, connect.droppedDuringHold)),
            ]
            if let before = connect.serverRSSBeforeKiB, let held = connect.serverRSSHeldKiB {
                rows.append(("server RSS", "\(before) KiB → \(held) KiB" + (connect.serverBytesPerConnection.map { ", \($0) B/connection" } ?? "")))
            }
        } else {
            rows += [
                ("clients", "\(clients) (\(senders) senders, \(receivers) receivers), \(pacing)"),
                ("messages", "sent \(sent), expected \(expected), delivered \(delivered)"),
                ("loss", "lost \(lost), duplicates \(duplicates), out of order \(outOfOrder)"),
                ("time", String(format: "%.3f s", elapsedSeconds)),
                ("throughput", String(format: "%.0f delivered/s, %.0f sent/s", deliveredPerSecond, sentPerSecond)),
                ("latency ms", String(format: "p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f", latency.p50, latency.p90, latency.p99, latency.p999, latency.max)),
            ]
        }
        rows.append(("errors", connectionErrors == 0 && errors.isEmpty ? "none" : "\(connectionErrors) connection errors; " + errors.prefix(3).joined(separator: "; ")))
        if timedOut { rows.append(("stopped", "hard timeout reached")) }
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n")
    }
}

/// Pass/fail limits given on the command line.
public struct LoadThresholds: Sendable, Hashable {
    /// `--max-p99 MS`.
    public var maxP99Milliseconds: Double?
    /// `--min-rate N` (delivered/s, or sessions/s for `connect`).
    public var minRate: Double?
    /// `--no-loss`: nothing lost or duplicated, no connection errors, no timeout.
    public var noLoss: Bool

    /// Creates thresholds (none by default).
    public init(maxP99Milliseconds: Double? = nil, minRate: Double? = nil, noLoss: Bool = false) {
        self.maxP99Milliseconds = maxP99Milliseconds
        self.minRate = minRate
        self.noLoss = noLoss
    }

    /// The failed thresholds, as sentences; empty when all pass.
    public func failures(of result: LoadResult) -> [String] {
        var failures: [String] = []
        if let limit = maxP99Milliseconds, result.connect == nil, result.latency.p99 > limit {
            failures.append(String(format: "p99 latency %.3f ms exceeds --max-p99 %.3f ms", result.latency.p99, limit))
        }
        if let limit = minRate {
            let rate = result.connect?.connectRate ?? result.deliveredPerSecond
            if rate < limit { failures.append(String(format: "rate %.0f/s is below --min-rate %.0f/s", rate, limit)) }
        }
        if noLoss {
            if result.lost > 0 { failures.append("\(result.lost) messages lost (--no-loss)") }
            if result.duplicates > 0 { failures.append("\(result.duplicates) duplicates (--no-loss)") }
            if result.connectionErrors > 0 { failures.append("\(result.connectionErrors) connection errors (--no-loss)") }
            if let connect = result.connect, connect.droppedDuringHold > 0 {
                failures.append("\(connect.droppedDuringHold) sessions dropped during hold (--no-loss)")
            }
            if result.timedOut { failures.append("hard timeout reached (--no-loss)") }
        }
        return failures
    }
}
