import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ParleyRelay
import ParleyTesting

#if canImport(Glibc)
import Glibc
#endif

/// The broker benchmarks: the 100×100 WebSocket DM ring with the in-process relay, and memory per idle
/// connection.
///
/// The clients are deliberately thin (hand-written WebSocket framing on raw NIO channels, SEND frames
/// encoded before the clock starts) so that the numbers describe the server, not a client library.
enum RingBenchmark {
    /// `broker [--clients N] [--messages M] [--rounds R] [--sustained-messages S] [--idle N]`
    static func run(_ arguments: [String]) -> Int32 {
        let clients = intOption(arguments, "--clients", 100)
        let messages = intOption(arguments, "--messages", 100)
        let rounds = intOption(arguments, "--rounds", 10)
        let sustained = intOption(arguments, "--sustained-messages", 2000)
        let idle = intOption(arguments, "--idle", 5000)
        return blocking {
            try await ring(clients: clients, messages: messages, rounds: rounds, sustainedMessages: sustained)
            for transport in ["tcp", "ws"] {
                try spawnIdle(transport: transport, connections: idle)
            }
        }
    }

    /// `broker-idle --transport tcp|ws --connections N`: run in a fresh process by `broker`.
    static func runIdle(_ arguments: [String]) -> Int32 {
        let transport = arguments.firstIndex(of: "--transport").map { arguments[$0 + 1] } ?? "tcp"
        let connections = intOption(arguments, "--connections", 5000)
        return blocking { try await idleMemory(transport: transport, connections: connections) }
    }

    // MARK: - Ring

    static func ring(clients: Int, messages: Int, rounds: Int, sustainedMessages: Int) async throws {
        let clientGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        try await withParleyServer(serverOptions(tcp: false)) { server in
            let port = server.webSocketPort
            var ring: [RingClient] = []
            for index in 0..<clients {
                ring.append(try await RingClient.connect(port: port, token: try await server.accessToken(for: "u\(index)"), group: clientGroup))
            }
            print("broker ring: \(clients) WebSocket clients, each sends DMs to the next; in-process relay; "
                + "server \(System.coreCount) event loops, clients 1 event loop, same process")
            func round(_ perClient: Int) async throws -> Double {
                let payloads = (0..<clients).map { index in
                    RingClient.encodedSends(count: perClient, to: "u\((index + 1) % clients)")
                }
                let expected = clients * perClient
                let done = Counter(target: expected, eventLoop: clientGroup.next())
                for client in ring { client.counter = done }
                let start = ContinuousClock.now
                for (client, payload) in zip(ring, payloads) { client.channel.writeAndFlush(payload, promise: nil) }
                try await done.promise.futureResult.get()
                let elapsed = ContinuousClock.now - start
                return Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds)
            }
            _ = try await round(messages)  // warm-up
            var times: [Double] = []
            let cpuBefore = processCPUSeconds()
            for _ in 0..<rounds { times.append(try await round(messages)) }
            let cpuPerRound = (processCPUSeconds() - cpuBefore) / Double(rounds)
            times.sort()
            let total = clients * messages
            print(String(format: "  %d×%d ring, %d rounds: best %.4f s, median %.4f s, worst %.4f s (target < 0.15 s)",
                clients, messages, rounds, times[0], times[times.count / 2], times[times.count - 1]))
            print(String(format: "  per round: %.0f msgs/s at the median; process CPU (server + clients) %.4f s per round = %.0f msgs per CPU-second",
                Double(total) / times[times.count / 2], cpuPerRound, Double(total) / cpuPerRound))
            let sustainedCPUBefore = processCPUSeconds()
            let sustainedTime = try await round(sustainedMessages)
            let sustainedCPU = processCPUSeconds() - sustainedCPUBefore
            print(String(format: "  sustained: %d×%d = %d DMs in %.3f s = %.0f delivered msgs/s (target ≥ 150,000/s)",
                clients, sustainedMessages, clients * sustainedMessages, sustainedTime,
                Double(clients * sustainedMessages) / sustainedTime))
            print(String(format: "  sustained CPU: %.3f s of process CPU on %d cores = %.0f msgs per CPU-second",
                sustainedCPU, System.coreCount, Double(clients * sustainedMessages) / sustainedCPU))
            print("  slow-consumer disconnects: \(server.broker.statistics.slowConsumerDisconnects.value)")
            for client in ring { try? await client.channel.close() }
        }
        try await clientGroup.shutdownGracefully()
    }

    /// The chat server the benchmarks measure: ParleyTesting's, chat only, on the shared event loops (one per
    /// core), relaying through `relay` (default in-process); WebSocket always, TCP when asked.
    static func serverOptions(tcp: Bool, relay: (any ChatRelay)? = nil) -> ParleyTestServer.Options {
        ParleyTestServer.Options(role: .chat, relay: relay, tcpPort: tcp ? 0 : nil)
    }

    // MARK: - Idle memory

    static func spawnIdle(transport: String, connections: Int) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = ["broker-idle", "--transport", transport, "--connections", String(connections)]
        try process.run()
        process.waitUntilExit()
    }

    static func idleMemory(transport: String, connections: Int) async throws {
        raiseFileLimit()
        try await withParleyServer(serverOptions(tcp: true)) { server in
            let port = transport == "ws" ? server.webSocketPort : server.tcpPort
            // Tokens first, so minting them is not counted as the sessions' memory.
            var tokens: [String] = []
            for index in 0..<(20 + connections) { tokens.append(try await server.accessToken(for: "i\(index)")) }
            // Warm up allocator and code paths with a few connections first.
            var sockets: [Int32] = []
            for token in tokens[..<20] { sockets.append(try blockingConnect(port: port, token: token, webSocket: transport == "ws")) }
            let before = residentBytes()
            for token in tokens[20...] {
                sockets.append(try blockingConnect(port: port, token: token, webSocket: transport == "ws"))
            }
            // Let the event loops settle (timers armed, buffers released).
            try await Task.sleep(for: .milliseconds(300))
            let after = residentBytes()
            let perConnection = Double(after - before) / Double(connections) / 1024
            print(String(format: "broker idle %@: %d connected STOMP sessions (heart-beat 10000,10000), RSS +%.1f MiB = %.2f KiB per connection (target < 16 KiB)",
                transport == "ws" ? "WebSocket" : "TCP", connections, Double(after - before) / 1_048_576, perConnection))
            for socket in sockets { close(socket) }
        }
    }

    /// Connects a plain blocking socket, performs the WebSocket upgrade if asked, sends CONNECT and reads
    /// until CONNECTED. Client sockets live in the kernel, so RSS grows by the server's share only.
    static func blockingConnect(port: Int, token: String, webSocket: Bool) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket() failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw BenchError("connect() failed: errno \(errno)") }
        let stomp = "CONNECT\naccept-version:1.2\nhost:/\nheart-beat:10000,10000\nAuthorization:Bearer \(token)\n\n\0"
        var request: [UInt8] = []
        if webSocket {
            request += Array(("GET /ws/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                + "Sec-WebSocket-Protocol: v12.stomp\r\n\r\n").utf8)
            request += RingClient.maskedTextFrame(Array(stomp.utf8))
        } else {
            request += Array(stomp.utf8)
        }
        _ = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !received.containsSequence(Array("CONNECTED".utf8)) || !received.contains(0) {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { throw BenchError("connection closed before CONNECTED: \(String(decoding: received, as: UTF8.self))") }
            received += chunk[0..<count]
        }
        return fd
    }

    /// User + system CPU time of this process so far: unlike wall time, not inflated by other busy processes.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    static func residentBytes() -> Int {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = statm.split(separator: " ")
        return (fields.count > 1 ? Int(fields[1]) ?? 0 : 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    static func raiseFileLimit() {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    // MARK: - Helpers

    static func intOption(_ arguments: [String], _ name: String, _ fallback: Int) -> Int {
        guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return fallback }
        return Int(arguments[index + 1]) ?? fallback
    }

    static func blocking(_ body: @escaping @Sendable () async throws -> Void) -> Int32 {
        let result = NIOLockedValueBox<Int32>(1)
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                try await body()
                result.withLockedValue { $0 = 0 }
            } catch {
                print("broker benchmark failed: \(error)")
            }
            done.signal()
        }
        done.wait()
        return result.withLockedValue { $0 }
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension Array where Element == UInt8 {
    func containsSequence(_ needle: [UInt8]) -> Bool {
        guard needle.count <= count else { return false }
        for start in 0...(count - needle.count) where self[start] == needle[0] && Array(self[start..<start + needle.count]) == needle {
            return true
        }
        return false
    }
}

/// Counts delivered MESSAGE frames across all ring clients; fulfils its promise at the target.
final class Counter: @unchecked Sendable {
    let promise: EventLoopPromise<Void>
    private let target: Int
    private let count = NIOLockedValueBox(0)

    init(target: Int, eventLoop: any EventLoop) {
        self.target = target
        self.promise = eventLoop.makePromise()
    }

    func add(_ amount: Int) {
        let reached = count.withLockedValue { count -> Bool in
            count += amount
            return count == target
        }
        if reached { promise.succeed() }
    }
}

/// A minimal STOMP-over-WebSocket client: hand-rolled handshake and framing, counts MESSAGE frames.
final class RingClient: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    let channel: any Channel
    private let handler: Handler
    var counter: Counter? {
        get { handler.counter.withLockedValue { $0 } }
        set { handler.counter.withLockedValue { $0 = newValue } }
    }
    /// Arrival times (uptime ns) of MESSAGE frames while non-nil; `kafka-ring` derives latencies from them.
    var arrivals: [UInt64]? {
        get { handler.arrivals.withLockedValue { $0 } }
        set { handler.arrivals.withLockedValue { $0 = newValue } }
    }

    private init(channel: any Channel, handler: Handler) {
        self.channel = channel
        self.handler = handler
    }

    static func connect(port: Int, token: String, group: any EventLoopGroup) async throws -> RingClient {
        let handler = Handler()
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        var hello = ByteBuffer(string:
            "GET /ws/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: v12.stomp\r\n\r\n")
        hello.writeBytes(maskedTextFrame(Array("CONNECT\naccept-version:1.2\nhost:/\nAuthorization:Bearer \(token)\n\n\0".utf8)))
        hello.writeBytes(maskedTextFrame(Array("SUBSCRIBE\nid:dm\ndestination:/user/queue/messages\nreceipt:ready\n\n\0".utf8)))
        try await channel.writeAndFlush(hello)
        try await handler.ready.futureResult(on: channel.eventLoop).get()
        return RingClient(channel: channel, handler: handler)
    }

    /// `count` SEND frames to `/app/chat.sendMessage` for `receiver`, each in its own masked WebSocket message.
    static func encodedSends(count: Int, to receiver: String) -> ByteBuffer {
        var buffer = ByteBuffer()
        for index in 0..<count {
            let body = #"{"roomId":"ring","receiverId":"\#(receiver)","content":"message \#(index)","messageType":"TALK"}"#
            let frame = "SEND\ndestination:/app/chat.sendMessage\ncontent-type:application/json\ncontent-length:\(body.utf8.count)\n\n\(body)\0"
            buffer.writeBytes(maskedTextFrame(Array(frame.utf8)))
        }
        return buffer
    }

    /// A client WebSocket text frame with an all-zero mask (valid framing; the payload stays readable).
    static func maskedTextFrame(_ payload: [UInt8]) -> [UInt8] {
        var frame: [UInt8] = [0x81]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else {
            frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        }
        frame += [0, 0, 0, 0]
        return frame + payload
    }

    /// Parses the upgrade response, then server WebSocket frames; counts those carrying MESSAGE.
    final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let counter = NIOLockedValueBox<Counter?>(nil)
        let arrivals = NIOLockedValueBox<[UInt64]?>(nil)
        let ready = ReadyPromise()
        private var upgraded = false
        private var buffer = ByteBuffer()

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var incoming = unwrapInboundIn(data)
            buffer.writeBuffer(&incoming)
            if !upgraded {
                guard let end = buffer.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8)) else { return }
                buffer.moveReaderIndex(to: end.upperBound)
                upgraded = true
            }
            var messages = 0
            while buffer.readableBytes >= 2 {
                let view = buffer.readableBytesView
                let start = view.startIndex
                var length = Int(view[start + 1] & 0x7F)
                var headerLength = 2
                if length == 126 {
                    guard view.count >= 4 else { break }
                    length = Int(view[start + 2]) << 8 | Int(view[start + 3])
                    headerLength = 4
                } else if length == 127 {
                    guard view.count >= 10 else { break }
                    length = view[(start + 2)..<(start + 10)].reduce(0) { $0 << 8 | Int($1) }
                    headerLength = 10
                }
                guard view.count >= headerLength + length else { break }
                let payload = view[(start + headerLength)...]
                if length >= 7, payload.starts(with: "MESSAGE".utf8) {
                    messages += 1
                } else if length >= 7, payload.starts(with: "RECEIPT".utf8) {
                    ready.succeed()
                } else if length >= 5, payload.starts(with: "ERROR".utf8) {
                    print("ring client got ERROR: \(String(decoding: payload.prefix(length), as: UTF8.self))")
                }
                buffer.moveReaderIndex(forwardBy: headerLength + length)
            }
            buffer.discardReadBytes()
            guard messages > 0 else { return }
            let now = DispatchTime.now().uptimeNanoseconds
            arrivals.withLockedValue { arrivals in
                arrivals?.append(contentsOf: repeatElement(now, count: messages))
            }
            counter.withLockedValue { $0 }?.add(messages)
        }
    }

    /// Completes once the SUBSCRIBE receipt arrived (set up before the channel exists).
    final class ReadyPromise: @unchecked Sendable {
        private let lock = NIOLock()
        private var promise: EventLoopPromise<Void>?
        private var fulfilled = false

        func futureResult(on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
            lock.withLock {
                if fulfilled { return eventLoop.makeSucceededFuture(()) }
                let promise = eventLoop.makePromise(of: Void.self)
                self.promise = promise
                return promise.futureResult
            }
        }

        func succeed() {
            let promise: EventLoopPromise<Void>? = lock.withLock {
                fulfilled = true
                defer { self.promise = nil }
                return self.promise
            }
            promise?.succeed()
        }
    }
}
