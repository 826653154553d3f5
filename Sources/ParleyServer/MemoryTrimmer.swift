#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import Synchronization

/// Hands memory freed by a storm of disconnects back to the operating system.
///
/// glibc keeps freed heap pages in its per-thread arenas; after 10,000 sessions come and go, the process would
/// otherwise stay at its peak RSS. Once at least `threshold` connections closed and none closed for `quiet`, one
/// `malloc_trim(0)` runs on a background thread (it walks every arena, so it is not for an event loop).
final class MemoryTrimmer: Sendable {
    private struct State {
        var closedSinceTrim = 0
        var lastClose = NIODeadline.uptimeNanoseconds(0)
        var scheduled = false
    }

    private let threshold: Int
    private let quiet: TimeAmount
    private let state = Mutex(State())
    private let trims = Atomic<Int>(0)

    init(threshold: Int = 256, quiet: TimeAmount = .milliseconds(500)) {
        self.threshold = threshold
        self.quiet = quiet
    }

    /// glibc's `malloc_trim` (not in Swift's Glibc module: looked up once); nil on other C libraries.
    private static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        #else
        return nil
        #endif
    }()

    /// How many times memory was trimmed.
    var trimCount: Int { trims.load(ordering: .relaxed) }

    /// A connection closed; `loop` times the quiet period.
    func connectionClosed(on loop: any EventLoop) {
        let schedule = state.withLock { state -> Bool in
            state.closedSinceTrim += 1
            state.lastClose = .now()
            guard state.closedSinceTrim >= threshold, !state.scheduled else { return false }
            state.scheduled = true
            return true
        }
        if schedule { check(on: loop) }
    }

    private func check(on loop: any EventLoop) {
        loop.scheduleTask(in: quiet) { [self] in
            let due = state.withLock { state -> Bool in
                guard NIODeadline.now() - state.lastClose >= quiet else { return false }
                state.closedSinceTrim = 0
                state.scheduled = false
                return true
            }
            guard due else {
                check(on: loop)
                return
            }
            Task.detached(priority: .background) { [self] in
                Self.mallocTrim?(0)
                trims.wrappingAdd(1, ordering: .relaxed)
            }
        }
    }
}
