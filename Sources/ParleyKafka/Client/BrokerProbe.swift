import CRdKafka
import Foundation
import Logging
import Synchronization

/// Asks the broker for metadata every `interval` on a thread and handle of its own, and reports whether it
/// answered within `timeout`: the relay's signal that the broker is frozen or gone, with or without traffic.
///
/// A SIGSTOPped broker keeps its connections open and even accepts new ones (the kernel completes them), so
/// librdkafka reports no error while requests simply go unanswered; only a request with a deadline tells.
final class BrokerProbe: Sendable {
    private let client: RdKafkaClient
    private let interval: Duration
    private let timeoutMilliseconds: Int32
    private let report: @Sendable (_ problem: String?) -> Void
    /// Set by `stop`; the thread checks it between probes and while waiting.
    private let stopping = Atomic<Bool>(false)
    private let finished = Mutex<Finish>(.running)

    private enum Finish {
        case running
        case waiting(CheckedContinuation<Void, Never>)
        case done
    }

    /// Creates the probe's handle (no connection before the first probe). `report` runs on the probe thread
    /// after every probe, with nil when the broker answered, else what went wrong.
    init(
        configuration: KafkaRelayConfiguration, logger: Logger, limiter: LogRateLimiter,
        report: @escaping @Sendable (_ problem: String?) -> Void
    ) throws(KafkaRelayError) {
        client = try RdKafkaClient(
            kind: .admin, properties: configuration.adminProperties, context: RdKafkaCallbackContext(logger: logger, limiter: limiter))
        interval = configuration.healthCheckInterval
        timeoutMilliseconds = Int32(clamping: configuration.healthCheckTimeout.milliseconds)
        self.report = report
    }

    /// Starts probing.
    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "kafka-health"
        thread.start()
    }

    /// Stops probing and destroys the handle; returns once the thread ended (after at most one probe timeout).
    func stop() async {
        stopping.store(true, ordering: .releasing)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = finished.withLock { state -> Bool in
                guard case .running = state else { return true }
                state = .waiting(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    private func run() {
        while !stopping.load(ordering: .acquiring) {
            let started = ContinuousClock.now
            let problem = probe()
            if stopping.load(ordering: .acquiring) { break }
            report(problem)
            // Sleep out the rest of the interval in short steps so that `stop` is not kept waiting.
            let next = started.advanced(by: interval)
            while !stopping.load(ordering: .acquiring), ContinuousClock.now < next {
                Thread.sleep(forTimeInterval: min(0.05, max(0, (next - ContinuousClock.now).seconds)))
            }
        }
        client.destroy()
        let waiter = finished.withLock { state -> CheckedContinuation<Void, Never>? in
            defer { state = .done }
            if case .waiting(let continuation) = state { return continuation }
            return nil
        }
        waiter?.resume()
    }

    /// One metadata request for the brokers only (no topics); nil when answered in time.
    private func probe() -> String? {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let error = rd_kafka_metadata(client.handle, 0, nil, &metadata, timeoutMilliseconds)
        if let metadata { rd_kafka_metadata_destroy(metadata) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            return "Kafka broker not answering (metadata request: \(RdKafkaClient.describe(error)) after \(timeoutMilliseconds) ms)"
        }
        return nil
    }
}
