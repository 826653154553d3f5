import Synchronization

/// A counting semaphore for one waiter (a sender's in-flight window): `acquire` suspends until enough permits
/// were released by receivers. Cancellation wakes the waiter with `CancellationError`.
///
/// A sender takes permits in batches (``acquire(atLeast:atMost:unit:)``): waking a suspended task per delivery
/// cost a load generator more CPU than the STOMP work itself, so a full window is reopened a quarter at a time.
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

    /// Waits until at least `atLeast` permits are free, then takes as many as are free up to `atMost`, in whole
    /// multiples of `unit`; returns how many it took.
    func acquire(atLeast: Int, atMost: Int, unit: Int) async throws -> Int {
        try await acquire(atLeast)
        let extra = state.withLock { state in
            var taken = min(state.available, atMost - atLeast)
            taken -= taken % unit
            state.available -= taken
            return taken
        }
        return atLeast + extra
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
