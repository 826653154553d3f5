import Synchronization

/// A counting semaphore for one waiter (a sender's in-flight window): `acquire` suspends until enough permits
/// were released by receivers. Cancellation wakes the waiter with `CancellationError`.
final class AsyncPermits: Sendable {
    private struct State: ~Copyable {
        var available: Int
        var waiter: (needed: Int, continuation: CheckedContinuation<Void, any Error>)?
    }

    private let state: Mutex<State>

    init(_ initial: Int) {
        state = Mutex(State(available: initial, waiter: nil))
    }

    func acquire(_ count: Int) async throws {
        let ready = state.withLock { state in
            guard state.available >= count else { return false }
            state.available -= count
            return true
        }
        if ready { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Now { case acquired, cancelled, parked }
                let now: Now = state.withLock { state in
                    if state.available >= count {
                        state.available -= count
                        return .acquired
                    }
                    if Task.isCancelled { return .cancelled }
                    state.waiter = (count, continuation)
                    return .parked
                }
                switch now {
                case .acquired: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .parked: break
                }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    func release(_ count: Int) {
        let waiter: CheckedContinuation<Void, any Error>? = state.withLock { state in
            state.available += count
            guard let waiter = state.waiter, state.available >= waiter.needed else { return nil }
            state.available -= waiter.needed
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume()
    }
}
