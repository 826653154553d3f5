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
        #expect(broker.pause())
        broker.stop()
        #expect(!broker.isRunning)
    }

    @Test func releasingTheBrokerStopsTheProcess() async throws {
        var broker: TansuBroker? = try await TansuBroker.start()
        let pid = try #require(broker?.processID)
        broker = nil
        #expect(kill(pid, 0) != 0)
    }

    @Test func listenerOwnershipTellsWhoseBrokerAnswers() async throws {
        let broker = try await TansuBroker.start()
        defer { broker.stop() }
        #expect(TansuBroker.ownsListener(pid: broker.processID, port: broker.port) == true)
        // Another process answering on the port (a parallel test's server) is not this broker.
        #expect(TansuBroker.ownsListener(pid: getpid(), port: broker.port) == false)
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 1) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        try #require(listening)
        let ownPort = Int(UInt16(bigEndian: address.sin_port))
        #expect(TansuBroker.ownsListener(pid: getpid(), port: ownPort) == true)
        #expect(TansuBroker.ownsListener(pid: broker.processID, port: ownPort) == false)
    }
}
