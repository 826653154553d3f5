import DequeModule
import Synchronization

/// A single-producer, single-consumer queue with a fixed capacity. The producer suspends while the queue is
/// full, which (in ``StompClient``) stops reading the socket: a slow subscriber slows the server down instead of
/// growing memory or losing messages.
final class BoundedAsyncQueue<Element: Sendable>: Sendable {
    private struct State: ~Copyable {
        var buffer = Deque<Element>()
        var consumer: CheckedContinuation<Element?, any Error>?
        var producer: CheckedContinuation<Void, Never>?
        var finished = false
        var failure: (any Error)?
    }

    private enum PushStep {
        case delivered(CheckedContinuation<Element?, any Error>)
        case stored, closed, full
    }

    private enum PopStep {
        case element(Element, CheckedContinuation<Void, Never>?)
        case end((any Error)?)
        case wait
    }

    private let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Appends `element`, waiting while the queue is full. Returns false when the queue was finished.
    @discardableResult
    func push(_ element: Element) async -> Bool {
        while true {
            let step: PushStep = state.withLock { state in
                if state.finished { return .closed }
                if let consumer = state.consumer {
                    state.consumer = nil
                    return .delivered(consumer)
                }
                if state.buffer.count < capacity {
                    state.buffer.append(element)
                    return .stored
                }
                return .full
            }
            switch step {
            case .delivered(let consumer):
                consumer.resume(returning: element)
                return true
            case .stored:
                return true
            case .closed:
                return false
            case .full:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { state in
                        if state.finished || state.buffer.count < capacity { return true }
                        state.producer = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
        }
    }

    /// Ends the queue: the consumer drains what is buffered, then gets nil (or `error`, thrown).
    func finish(throwing error: (any Error)? = nil) {
        let (consumer, producer): (CheckedContinuation<Element?, any Error>?, CheckedContinuation<Void, Never>?) =
            state.withLock { state in
                guard !state.finished else { return (nil, nil) }
                state.finished = true
                state.failure = error
                let consumer = state.buffer.isEmpty ? state.consumer : nil
                if consumer != nil { state.consumer = nil }
                defer { state.producer = nil }
                return (consumer, state.producer)
            }
        producer?.resume()
        if let consumer {
            if let error { consumer.resume(throwing: error) } else { consumer.resume(returning: nil) }
        }
    }

    /// Takes the next element (and the producer to wake) or the end; `.wait` when the buffer is empty.
    private static func pop(_ state: inout State) -> PopStep {
        if let element = state.buffer.popFirst() {
            let producer = state.producer
            state.producer = nil
            return .element(element, producer)
        }
        if state.finished {
            let failure = state.failure
            state.failure = nil  // report the error once, then plain end
            return .end(failure)
        }
        return .wait
    }

    /// The next element; nil when finished cleanly; throws the finishing error or `CancellationError`.
    func next() async throws -> Element? {
        let step: PopStep = state.withLock { Self.pop(&$0) }
        switch step {
        case .element(let element, let producer):
            producer?.resume()
            return element
        case .end(let failure):
            if let failure { throw failure }
            return nil
        case .wait:
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Element?, any Error>) in
                    let now: PopStep = state.withLock { state in
                        let step = Self.pop(&state)
                        guard case .wait = step else { return step }
                        if Task.isCancelled { return .end(CancellationError()) }
                        state.consumer = continuation
                        return .wait
                    }
                    switch now {
                    case .element(let element, let producer):
                        producer?.resume()
                        continuation.resume(returning: element)
                    case .end(let failure):
                        if let failure { continuation.resume(throwing: failure) } else { continuation.resume(returning: nil) }
                    case .wait:
                        break
                    }
                }
            } onCancel: {
                let consumer = state.withLock { state in
                    defer { state.consumer = nil }
                    return state.consumer
                }
                consumer?.resume(throwing: CancellationError())
            }
        }
    }
}
