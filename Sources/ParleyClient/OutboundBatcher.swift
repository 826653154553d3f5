import NIOConcurrencyHelpers
import NIOCore

/// Queues writes made from outside a channel's event loop and hands them to the channel in batches: one
/// event-loop task, one pass through the pipeline and one flush (one `writev`) for everything queued meanwhile.
///
/// A `writeAndFlush` per frame from a task costs an event-loop hop and a system call each; a load generator
/// sending thousands of frames per second per connection spent a third of its CPU there.
/// Order is kept: every write of a connection goes through here, including those that wait for completion.
final class OutboundBatcher: Sendable {
    private struct Pending {
        var buffers: [(ByteBuffer, EventLoopPromise<Void>?)] = []
        var drainScheduled = false
    }

    private let channel: any Channel
    private let pending = NIOLockedValueBox(Pending())

    init(channel: any Channel) {
        self.channel = channel
    }

    /// Queues `buffer`; `promise` (if any) completes when it has been written.
    func enqueue(_ buffer: ByteBuffer, promise: EventLoopPromise<Void>?) {
        let mustSchedule = pending.withLockedValue { pending in
            pending.buffers.append((buffer, promise))
            defer { pending.drainScheduled = true }
            return !pending.drainScheduled
        }
        if mustSchedule {
            channel.eventLoop.execute { self.drain() }
        }
    }

    private func drain() {
        let batch = pending.withLockedValue { pending in
            pending.drainScheduled = false
            defer { pending.buffers.removeAll(keepingCapacity: true) }
            return pending.buffers
        }
        for (buffer, promise) in batch {
            channel.write(buffer, promise: promise)
        }
        channel.flush()
    }
}
