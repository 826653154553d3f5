import Histogram
import NIOConcurrencyHelpers
import NIOCore
import ParleyClient
import ParleyCodec
import ParleyProfiles
import Synchronization

/// Who talks to whom in a messaging scenario.
struct Topology: Sendable {
    /// Connections to open.
    var clientCount: Int
    /// Indices of the clients that send.
    var senders: [Int]
    /// Deliveries each message should produce.
    var receiversPerMessage: Int
    /// What client `index` subscribes to (nil: nothing).
    var subscription: @Sendable (_ client: LoadParticipant) -> String?
    /// The SEND for one payload from `sender`, given every participant.
    var message: @Sendable (_ payload: String, _ sender: LoadParticipant, _ all: [LoadParticipant]) -> LoadOutgoingMessage
    /// The intended receiver index written into payloads (-1: everyone subscribed).
    var receiverIndex: @Sendable (_ sender: Int) -> Int
}

/// One connected client of a run.
struct LoadSession: Sendable {
    var client: StompClient
    var participant: LoadParticipant
}

/// Runs a messaging scenario: connect, subscribe, send, receive, account, tear down.
final class MessagingRun: Sendable {
    private struct Progress: ~Copyable {
        var sent = 0
        var firstSendNanos: UInt64 = 0
        var lastSendNanos: UInt64 = 0
        var connectionErrors = 0
        var errors: [String] = []
    }

    private struct ReceiverState {
        var trackers: [Int: SequenceTracker] = [:]
    }

    let scenario: String
    let settings: LoadSettings
    let topology: Topology
    private let progress = Mutex(Progress())
    /// Per-delivery counters, kept out of `progress`: every event loop touches them for every message, and
    /// a relaxed atomic costs less than taking a shared lock.
    private let uniqueDeliveries = Atomic<Int>(0)
    private let lastDeliveryNanos = Atomic<UInt64>(0)
    private let histogramShards: [NIOLockedValueBox<Histogram<UInt64>>]
    private let receivers: [NIOLockedValueBox<ReceiverState>]
    private let windows: [AsyncPermits]
    /// Messages a sender may have in flight (closed loop); each takes `receiversPerMessage` permits.
    private let windowMessages: Int
    private let sentBySender: NIOLockedValueBox<[Int]>
    private let sendersFinished = Atomic<Bool>(false)

    init(scenario: String, settings: LoadSettings, topology: Topology) {
        self.scenario = scenario
        self.settings = settings
        self.topology = topology
        histogramShards = (0..<8).map { _ in
            NIOLockedValueBox(Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three))
        }
        receivers = (0..<topology.clientCount).map { _ in NIOLockedValueBox(ReceiverState()) }
        windowMessages = if case .window(let size) = settings.pacing { max(1, size) } else { 0 }
        windows = (0..<topology.clientCount).map { [windowMessages] _ in AsyncPermits(windowMessages * topology.receiversPerMessage) }
        sentBySender = NIOLockedValueBox(Array(repeating: 0, count: topology.clientCount))
    }

    private func recordError(_ text: String, connection: Bool) {
        progress.withLock { progress in
            if connection { progress.connectionErrors += 1 }
            if progress.errors.count < 10 { progress.errors.append(text) }
        }
    }

    private var expectedUpFront: Int? {
        settings.messagesPerSender.map { $0 * topology.senders.count * topology.receiversPerMessage }
    }

    /// Runs to completion, stall, or the hard timeout and returns the measurements.
    func run() async throws -> LoadResult {
        let clock = ContinuousClock()
        let hardDeadline = clock.now + settings.timeout
        var timedOut = false

        // Setup (credentials, connect, subscribe) is bounded by the hard timeout too.
        let sessions: [LoadSession]
        do {
            sessions = try await withDeadline(hardDeadline) { try await self.connectAll() }
        } catch is DeadlineExceeded {
            throw LoadError("setup did not finish within the --timeout of \(settings.timeout)")
        }
        let participants = sessions.map(\.participant)

        do {
            try await withDeadline(hardDeadline) {
                _ = try await boundedMap(0..<sessions.count, concurrency: self.settings.connectConcurrency) { index in
                    try await self.subscribe(sessions[index])
                }
            }
        } catch {
            await disconnectAll(sessions)
            throw error is DeadlineExceeded ? LoadError("subscribing did not finish within --timeout") : error
        }

        return await withTaskGroup(of: Void.self) { group in
            // Receivers run until their subscription ends at disconnect.
            for session in sessions { group.addTask { await self.receive(session) } }

            let senders = Task {
                await withTaskGroup(of: Void.self) { senders in
                    for index in self.topology.senders {
                        senders.addTask { await self.send(from: sessions[index], participants: participants) }
                    }
                }
                self.sendersFinished.store(true, ordering: .releasing)
            }
            let reporter: Task<Void, Never>? = settings.progress.map { report in
                Task {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: self.settings.progressInterval)
                        if Task.isCancelled { return }
                        report(self.snapshot())
                    }
                }
            }

            // Wait for completion, a stall, or the hard deadline.
            var lastActivity = (sent: -1, unique: -1)
            var lastChange = clock.now
            while true {
                let sendersDone = sendersFinished.load(ordering: .acquiring)
                let sent = progress.withLock { $0.sent }
                let unique = uniqueDeliveries.load(ordering: .relaxed)
                let expected = sendersDone ? self.expectedNow() : nil
                if let expected, unique >= expected { break }
                if clock.now >= hardDeadline {
                    timedOut = true
                    break
                }
                if (sent, unique) != lastActivity {
                    lastActivity = (sent, unique)
                    lastChange = clock.now
                } else if clock.now - lastChange >= settings.stallTimeout {
                    recordError("no progress for \(settings.stallTimeout); stopped", connection: false)
                    break
                }
                try? await Task.sleep(for: .milliseconds(sendersDone ? 1 : 5))
            }
            senders.cancel()
            await senders.value
            reporter?.cancel()
            let result = self.result(participants: participants, timedOut: timedOut)
            await self.disconnectAll(sessions)
            group.cancelAll()
            return result
        }
    }

    private func expectedNow() -> Int {
        sentBySender.withLockedValue { $0.reduce(0, +) } * topology.receiversPerMessage
    }

    // MARK: Setup

    private func connectAll() async throws -> [LoadSession] {
        let count = topology.clientCount
        // Credentials first (account sign-ups are slow and must not count as connect time).
        let credentials: [ClientCredentials] = try await boundedMap(0..<count, concurrency: settings.credentialConcurrency) { index in
            do {
                return try await self.settings.credentials.credentials(forClient: index, runID: self.settings.runID)
            } catch {
                throw LoadError("credentials for client \(index): \(error)")
            }
        }
        let results: [Result<LoadSession, any Error>] = try await boundedMap(0..<count, concurrency: settings.connectConcurrency) { index in
            do {
                return .success(try await self.connect(index: index, credentials: credentials[index]))
            } catch {
                return .failure(error)
            }
        }
        var sessions: [LoadSession] = []
        var failures: [String] = []
        for (index, result) in results.enumerated() {
            switch result {
            case .success(let session): sessions.append(session)
            case .failure(let error): failures.append("client \(index): \(error)")
            }
        }
        if !failures.isEmpty {
            await disconnectAll(sessions)
            throw LoadError("\(failures.count) of \(count) clients failed to connect; first: \(failures[0])")
        }
        return sessions
    }

    private func connect(index: Int, credentials: ClientCredentials) async throws -> LoadSession {
        var options = settings.clientOptions
        options.authenticate(with: credentials)
        let client = try await StompClient.connect(to: settings.endpoint(forClient: index), options: options)
        let principal = credentials.userID ?? client.connectedFrame.headers["user-name"] ?? credentials.login ?? "client-\(index)"
        return LoadSession(client: client, participant: LoadParticipant(index: index, principal: principal, runID: settings.runID))
    }

    private let subscriptions = Mutex<[Int: StompSubscription]>([:])

    private func subscribe(_ session: LoadSession) async throws {
        guard let destination = topology.subscription(session.participant) else { return }
        // The receipt guarantees the subscription is active before anyone sends.
        // Deliveries are accounted on the connection's event loop as frames are decoded (`onMessage`): a task
        // switch per message would make the generator, not the server, the bottleneck of fan-out runs.
        let index = session.participant.index
        let runID = Array(settings.runID.utf8)
        let subscription = try await session.client.subscribe(destination: destination, receipt: true) { [self] frame in
            self.account(frame, receivedBy: index, runID: runID)
        }
        subscriptions.withLock { $0[index] = subscription }
    }

    private func disconnectAll(_ sessions: [LoadSession]) async {
        await withTaskGroup(of: Void.self) { group in
            for session in sessions {
                group.addTask { try? await session.client.disconnect(timeout: .seconds(2)) }
            }
        }
    }

    // MARK: Traffic

    private func send(from session: LoadSession, participants: [LoadParticipant]) async {
        let me = session.participant
        let receiver = topology.receiverIndex(me.index)
        let clock = ContinuousClock()
        let start = clock.now
        let stopAt = settings.duration.map { start + $0 }
        let interval: Duration? = if case .rate(let rate) = settings.pacing, rate > 0 {
            .nanoseconds(Int64(Double(topology.senders.count) / rate * 1e9))
        } else { nil }
        var sequence = 0
        // Closed loop: messages this sender may send before it must wait for deliveries to reopen its window.
        var credit = 0
        let perMessage = topology.receiversPerMessage
        while settings.messagesPerSender.map({ sequence < $0 }) ?? true {
            let due = interval.map { start + $0 * sequence }
            // Open loop: the schedule decides what a timed run sends (a message due before the end is sent even if
            // the sender runs late), so a loaded load generator does not silently lower the offered rate.
            if let stopAt, (due ?? clock.now) >= stopAt { break }
            if Task.isCancelled { break }
            do {
                if let due {
                    if due > clock.now { try await Task.sleep(until: due, clock: clock) }
                } else {
                    if credit == 0 {
                        let remaining = settings.messagesPerSender.map { $0 - sequence } ?? windowMessages
                        let batch = min(max(1, windowMessages / 4), remaining)
                        let taken = try await windows[me.index].acquire(
                            atLeast: batch * perMessage, atMost: min(windowMessages, remaining) * perMessage, unit: perMessage)
                        credit = taken / perMessage
                    }
                    credit -= 1
                }
            } catch {
                break  // cancelled: the run is over
            }
            let now = NIODeadline.now().uptimeNanoseconds
            let payload = LoadPayload(runID: me.runID, sender: me.index, sequence: sequence, sentNanos: now, receiver: receiver)
            let message = topology.message(payload.encoded(paddedTo: settings.payloadSize), me, participants)
            do {
                try await session.client.send(destination: message.destination, body: message.body, headers: message.headers)
            } catch {
                recordError("client \(me.index) send: \(error)", connection: true)
                break
            }
            sequence += 1
            sentBySender.withLockedValue { $0[me.index] = sequence }
            progress.withLock { progress in
                progress.sent += 1
                if progress.firstSendNanos == 0 || now < progress.firstSendNanos { progress.firstSendNanos = now }
                progress.lastSendNanos = max(progress.lastSendNanos, now)
            }
        }
    }

    /// Waits for the end of `session`'s subscription (its messages are accounted by ``account(_:receivedBy:runID:)``)
    /// and records an abnormal end.
    private func receive(_ session: LoadSession) async {
        guard let subscription = subscriptions.withLock({ $0[session.participant.index] }) else { return }
        do {
            for try await _ in subscription {}
        } catch {
            if case .disconnected = session.client.endReason ?? .disconnected { return }
            recordError("client \(session.participant.index) session ended: \(error)", connection: true)
        }
    }

    /// Records one delivered MESSAGE: latency, loss/duplicate/order bookkeeping, and a permit back to its sender.
    private func account(_ frame: StompFrame, receivedBy myIndex: Int, runID: [UInt8]) {
        let now = NIODeadline.now().uptimeNanoseconds
        // Parsed in place: no String per delivered message.
        let scanned: ScannedPayload? = frame.body.withUnsafeReadableBytes { bytes in
            guard let payload = LoadPayload.scan(bytes), bytes[payload.runID].elementsEqual(runID) else { return nil }
            return payload
        }
        guard let payload = scanned, payload.sender < topology.clientCount else { return }
        // Parley also delivers a direct message to the sender's own sessions: not ours to count.
        if payload.receiver >= 0 && payload.receiver != myIndex { return }
        let isNew = receivers[myIndex].withLockedValue { $0.trackers[payload.sender, default: SequenceTracker()].record(payload.sequence) }
        guard isNew else { return }
        let micros = now > payload.sentNanos ? (now - payload.sentNanos) / 1000 : 0
        histogramShards[myIndex % histogramShards.count].withLockedValue { _ = $0.record(max(1, micros)) }
        uniqueDeliveries.wrappingAdd(1, ordering: .relaxed)
        var latest = lastDeliveryNanos.load(ordering: .relaxed)
        while now > latest {
            let (exchanged, current) = lastDeliveryNanos.compareExchange(expected: latest, desired: now, ordering: .relaxed)
            if exchanged { break }
            latest = current
        }
        windows[payload.sender].release(1)
    }

    // MARK: Results

    private func snapshot() -> LoadProgress {
        let (sent, first, errors) = progress.withLock { ($0.sent, $0.firstSendNanos, $0.connectionErrors) }
        let unique = uniqueDeliveries.load(ordering: .relaxed)
        let now = NIODeadline.now().uptimeNanoseconds
        let elapsed: Duration = first == 0 ? .zero : .nanoseconds(Int64(now - first))
        return LoadProgress(elapsed: elapsed, sent: sent, delivered: unique, expected: expectedUpFront, connectionErrors: errors)
    }

    private func result(participants: [LoadParticipant], timedOut: Bool) -> LoadResult {
        let sentCounts = sentBySender.withLockedValue { $0 }
        var delivered = 0
        var duplicates = 0
        var outOfOrder = 0
        var uniqueCounted = 0
        for receiver in receivers.indices {
            receivers[receiver].withLockedValue { state in
                for (sender, tracker) in state.trackers {
                    delivered += tracker.unique
                    duplicates += tracker.duplicates
                    outOfOrder += tracker.outOfOrder
                    uniqueCounted += tracker.uniqueBelow(sentCounts[sender])
                }
            }
        }
        let sent = sentCounts.reduce(0, +)
        let expected = sent * topology.receiversPerMessage
        var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        for shard in histogramShards { histogram.add(shard.withLockedValue { $0 }) }
        let latency: LatencySummary = histogram.totalCount == 0 ? .empty : LatencySummary(
            count: histogram.totalCount,
            p50: Double(histogram.valueAtPercentile(50)) / 1000,
            p90: Double(histogram.valueAtPercentile(90)) / 1000,
            p99: Double(histogram.valueAtPercentile(99)) / 1000,
            p999: Double(histogram.valueAtPercentile(99.9)) / 1000,
            max: Double(histogram.max) / 1000,
            mean: histogram.mean / 1000
        )
        let snapshot = progress.withLock {
            ($0.firstSendNanos, $0.lastSendNanos, lastDeliveryNanos.load(ordering: .relaxed), $0.connectionErrors, $0.errors)
        }
        let (first, lastSend, lastDelivery, connectionErrors, errors) = snapshot
        let elapsed = first > 0 && lastDelivery > first ? Double(lastDelivery - first) / 1e9 : 0
        let sendSpan = first > 0 && lastSend > first ? Double(lastSend - first) / 1e9 : 0
        let receiving = Set(participants.filter { topology.subscription($0) != nil }.map(\.index)).count
        return LoadResult(
            scenario: scenario,
            target: settings.allEndpoints.map(\.description).joined(separator: ","),
            mapping: settings.mapping.name,
            runID: settings.runID,
            clients: topology.clientCount,
            senders: topology.senders.count,
            receivers: receiving,
            pacing: settings.pacing.description,
            sent: sent,
            expected: expected,
            delivered: delivered,
            lost: max(0, expected - uniqueCounted),
            duplicates: duplicates,
            outOfOrder: outOfOrder,
            connectionErrors: connectionErrors,
            errors: errors,
            elapsedSeconds: elapsed,
            deliveredPerSecond: elapsed > 0 ? Double(delivered) / elapsed : 0,
            sentPerSecond: sendSpan > 0 ? Double(sent) / sendSpan : 0,
            latency: latency,
            timedOut: timedOut,
            connect: nil
        )
    }
}

// MARK: Helpers

struct DeadlineExceeded: Error {}

/// Runs `body`, cancelling it and throwing `DeadlineExceeded` at `deadline`.
func withDeadline<T: Sendable>(_ deadline: ContinuousClock.Instant, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(until: deadline, clock: ContinuousClock())
            throw DeadlineExceeded()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// Maps `items` with at most `concurrency` calls in flight, keeping order.
func boundedMap<T: Sendable>(
    _ items: Range<Int>,
    concurrency: Int,
    _ transform: @escaping @Sendable (Int) async throws -> T
) async throws -> [T] {
    var results: [T?] = Array(repeating: nil, count: items.count)
    try await withThrowingTaskGroup(of: (Int, T).self) { group in
        var next = items.lowerBound
        while next < items.upperBound, next - items.lowerBound < max(1, concurrency) {
            let index = next
            group.addTask { (index, try await transform(index)) }
            next += 1
        }
        while let finished = try await group.next() {
            results[finished.0 - items.lowerBound] = finished.1
            if next < items.upperBound {
                let index = next
                group.addTask { (index, try await transform(index)) }
                next += 1
            }
        }
    }
    return results.map { $0! }
}
