import Foundation
import ParleyTesting
import Synchronization
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
        let (listener, ownPort) = try #require(Self.loopbackListener())
        defer { close(listener) }
        #expect(TansuBroker.ownsListener(pid: getpid(), port: ownPort) == true)
        #expect(TansuBroker.ownsListener(pid: broker.processID, port: ownPort) == false)
    }

    /// Ownership is read right while other tests open and close sockets by the thousand (the machine CI shares):
    /// every one of hundreds of checks must see the broker's listener, and this process's own. Scanning
    /// `/proc/net/tcp`, which the kernel writes a page at a time, missed the line now and then.
    @Test func listenerOwnershipHoldsWhileSocketsChurn() async throws {
        let broker = try await TansuBroker.start()
        defer { broker.stop() }
        let (listener, ownPort) = try #require(Self.loopbackListener())
        defer { close(listener) }
        let stop = Atomic(false)
        let churners = (0..<2).map { _ in
            let thread = Thread {
                while !stop.load(ordering: .relaxed) {
                    let sockets = (0..<64).compactMap { _ in Self.loopbackListener() }
                    for (socket, port) in sockets { Self.connectAndClose(port: port); close(socket) }
                }
            }
            thread.start()
            return thread
        }
        defer { stop.store(true, ordering: .relaxed) }
        _ = churners
        var misses: [String] = []
        for round in 0..<300 {
            if TansuBroker.ownsListener(pid: broker.processID, port: broker.port) != true { misses.append("broker \(round)") }
            if TansuBroker.ownsListener(pid: getpid(), port: ownPort) != true { misses.append("own \(round)") }
        }
        #expect(misses.isEmpty, "ownership not seen: \(misses)")
        #expect(TansuBroker.ownsListener(pid: getpid(), port: broker.port) == false)
    }

    /// A socket listening on a kernel-chosen loopback port, and the port.
    static func loopbackListener() -> (Int32, Int)? {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 16) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        guard listening else {
            close(listener)
            return nil
        }
        return (listener, Int(UInt16(bigEndian: address.sin_port)))
    }

    static func connectAndClose(port: Int) {
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
}
