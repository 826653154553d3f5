import ParleyRelay
import Synchronization

/// A thread-safe list that tests append to from any thread and await without sleeping.
public final class Recorder<Element: Sendable>: Sendable {
    private struct Waiter {
        var count: Int
        var continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var values: [Element] = []
        var waiters: [Int: Waiter] = [:]
        var nextWaiterID = 0
    }

    private let state = Mutex(State())

    /// Creates an empty recorder.
    public init() {}

    /// Appends `value` and wakes the waiters whose count is reached.
    public func record(_ value: Element) {
        let ready = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.values.append(value)
            let reached = state.waiters.filter { $0.value.count <= state.values.count }
            for id in reached.keys { state.waiters.removeValue(forKey: id) }
            return reached.values.map(\.continuation)
        }
        for continuation in ready { continuation.resume(returning: true) }
    }

    /// Everything recorded so far, in order.
    public var values: [Element] { state.withLock { $0.values } }

    /// How many values were recorded.
    public var count: Int { state.withLock { $0.values.count } }

    /// Waits until at least `count` values were recorded; false if `timeout` passed first.
    public func waitForCount(_ count: Int, timeout: Duration) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let waiterID = state.withLock { state -> Int? in
                if state.values.count >= count { return nil }
                let id = state.nextWaiterID
                state.nextWaiterID += 1
                state.waiters[id] = Waiter(count: count, continuation: continuation)
                return id
            }
            guard let waiterID else {
                continuation.resume(returning: true)
                return
            }
            Task {
                try? await Task.sleep(for: timeout)
                if let waiter = self.state.withLock({ $0.waiters.removeValue(forKey: waiterID) }) {
                    waiter.continuation.resume(returning: false)
                }
            }
        }
    }
}

/// A ``ChatEventSink`` that records every delivered event.
public final class RecordingSink: ChatEventSink {
    /// The delivered events.
    public let events = Recorder<ChatEvent>()

    /// Creates an empty sink.
    public init() {}

    /// Records `event`.
    public func deliver(_ event: ChatEvent) { events.record(event) }

    /// Delivered message ids with how often each arrived.
    public var deliveryCounts: [String: Int] {
        events.values.reduce(into: [:]) { $0[$1.messageId, default: 0] += 1 }
    }
}
