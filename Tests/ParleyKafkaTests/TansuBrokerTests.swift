import Foundation
import ParleyTesting
import Testing

@Suite(.serialized, .timeLimit(.minutes(1)))
struct TansuBrokerTests {
    @Test func startsOnAFreeLoopbackPortAndStopsCleanly() async throws {
        let broker = try await TansuBroker.start()
        #expect(broker.bootstrapServers == "127.0.0.1:\(broker.port)")
        #expect(TansuBroker.isAccepting(port: broker.port))
        #expect(broker.isRunning)
        broker.stop()
        #expect(!broker.isRunning)
        #expect(kill(broker.processID, 0) != 0)  // the process is gone, not a zombie we still own
        #expect(!TansuBroker.isAccepting(port: broker.port))
        broker.stop()  // idempotent
    }

    @Test func pausedBrokerIsStoppedToo() async throws {
        let broker = try await TansuBroker.start()
        broker.pause()
        broker.stop()
        #expect(!broker.isRunning)
    }

    @Test func releasingTheBrokerStopsTheProcess() async throws {
        var broker: TansuBroker? = try await TansuBroker.start()
        let pid = try #require(broker?.processID)
        broker = nil
        #expect(kill(pid, 0) != 0)
    }
}
