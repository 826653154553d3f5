import Foundation

/// The outcome of one conversation against one server.
public enum Verdict: String, Sendable, Hashable, Codable, CaseIterable {
    /// Every expectation held.
    case pass
    /// An expectation failed and the profile lists no deviation for it.
    case fail
    /// An expectation failed, and the profile documents this as a known deviation.
    case deviation
    /// Not run: a capability tag is missing from the profile or the transport does not apply.
    case skipped
}

/// Where and why a conversation failed.
public struct FailureDetail: Sendable, Hashable, Codable {
    /// Step position, 1-based (`4`, or `4.2` inside a parallel block).
    public var step: String
    /// YAML line of the step.
    public var line: Int
    /// The client the step belongs to (nil for sleep/parallel).
    public var client: String?
    /// The step as written, summarised (e.g. `expect MESSAGE`).
    public var action: String
    /// What went wrong.
    public var message: String
    /// The expected frame, wire-like (nil when the step was not an expectation).
    public var expected: String?
    /// Frames actually received by that client around the failure, escaped as on the wire.
    public var received: [String]

    /// Creates a failure detail.
    public init(
        step: String, line: Int, client: String?, action: String, message: String, expected: String? = nil,
        received: [String] = []
    ) {
        self.step = step
        self.line = line
        self.client = client
        self.action = action
        self.message = message
        self.expected = expected
        self.received = received
    }

    /// A multi-line text for terminals and JUnit bodies.
    public var text: String {
        var lines = ["step \(step) (line \(line))\(client.map { ", client \($0)" } ?? ""): \(action)", message]
        if let expected {
            lines.append("expected:")
            lines.append(Self.indent(expected))
        }
        if received.isEmpty {
            lines.append("received: nothing")
        } else {
            lines.append("received:")
            for frame in received { lines.append(Self.indent(frame)) }
        }
        return lines.joined(separator: "\n")
    }

    private static func indent(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n")
    }
}

/// One conversation's result.
public struct ConversationResult: Sendable, Hashable, Codable {
    /// Conversation name.
    public var name: String
    /// Its title.
    public var title: String
    /// Its tags.
    public var tags: [String]
    /// The verdict.
    public var verdict: Verdict
    /// Wall time in seconds.
    public var seconds: Double
    /// Skip reason, deviation reason, or failure summary.
    public var reason: String?
    /// Failure details (for `fail` and `deviation`).
    public var failure: FailureDetail?

    /// Creates a result.
    public init(
        name: String, title: String, tags: [String], verdict: Verdict, seconds: Double, reason: String? = nil,
        failure: FailureDetail? = nil
    ) {
        self.name = name
        self.title = title
        self.tags = tags
        self.verdict = verdict
        self.seconds = seconds
        self.reason = reason
        self.failure = failure
    }
}

/// A whole run: which server, which results.
public struct ConformanceReport: Sendable, Hashable, Codable {
    /// Profile name.
    public var profile: String
    /// The STOMP URL targeted.
    public var url: String
    /// `tcp` or `websocket`.
    public var transport: String
    /// When the run started (ISO 8601).
    public var startedAt: String
    /// Total wall time in seconds.
    public var seconds: Double
    /// Results in run order.
    public var results: [ConversationResult]

    /// Creates a report.
    public init(profile: String, url: String, transport: String, startedAt: String, seconds: Double, results: [ConversationResult]) {
        self.profile = profile
        self.url = url
        self.transport = transport
        self.startedAt = startedAt
        self.seconds = seconds
        self.results = results
    }

    /// Number of results with `verdict`.
    public func count(_ verdict: Verdict) -> Int { results.filter { $0.verdict == verdict }.count }

    /// True when nothing failed (deviations and skips are allowed).
    public var succeeded: Bool { count(.fail) == 0 }

    /// JSON (pretty, sorted keys).
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// A plain-text summary table: one row per conversation, then the totals.
    public func summaryTable() -> String {
        let nameWidth = max(12, results.map(\.name.count).max() ?? 0)
        var lines: [String] = []
        let header = "conversation".padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  verdict    time   note"
        lines.append(header)
        lines.append(String(repeating: "-", count: min(120, header.count + 30)))
        for result in results {
            let time = String(format: "%5.2fs", result.seconds)
            let note = result.reason.map { $0.split(separator: "\n").first.map(String.init) ?? "" } ?? ""
            lines.append(
                result.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  "
                    + result.verdict.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0) + "  " + time + "  "
                    + String(note.prefix(100)))
        }
        lines.append(String(repeating: "-", count: min(120, header.count + 30)))
        lines.append(
            "\(profile) over \(transport) (\(url)): \(count(.pass)) passed, \(count(.fail)) failed, "
                + "\(count(.deviation)) known deviations, \(count(.skipped)) skipped in "
                + String(format: "%.1f", seconds) + " s")
        return lines.joined(separator: "\n")
    }
}
