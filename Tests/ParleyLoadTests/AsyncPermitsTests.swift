@testable import ParleyLoad
import Synchronization
import Testing

struct AsyncPermitsTests {
    /// A batch waits for its minimum, then takes what is free up to its maximum, in whole units.
    @Test func batchesWaitForTheirMinimumAndTakeWholeUnits() async throws {
        let permits = AsyncPermits(8)
        #expect(try await permits.acquire(atLeast: 2, atMost: 8, unit: 1) == 8)

        let taken = Atomic<Int>(-1)
        let waiter = Task {
            let count = try await permits.acquire(atLeast: 2, atMost: 8, unit: 2)
            taken.store(count, ordering: .releasing)
        }
        permits.release(1)
        try await Task.sleep(for: .milliseconds(50))
        #expect(taken.load(ordering: .acquiring) == -1, "one permit is below the minimum of two")
        permits.release(2)
        try await waiter.value
        #expect(taken.load(ordering: .acquiring) == 2, "three free, in units of two: two taken, one left")
        #expect(try await permits.acquire(atLeast: 1, atMost: 5, unit: 1) == 1)
    }

    @Test func cancellationWakesAWaitingBatch() async throws {
        let permits = AsyncPermits(0)
        let waiter = Task { try await permits.acquire(atLeast: 4, atMost: 8, unit: 1) }
        try await Task.sleep(for: .milliseconds(20))
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
    }
}
