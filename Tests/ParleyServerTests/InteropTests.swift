import Foundation
import ParleyTesting
import Testing

/// Runs `Interop/stomp_interop.py` (stomp.py, pip `stomp.py`) against a live server over both transports.
@Suite(.timeLimit(.minutes(1))) struct StompPyInteropTests {
    static var scriptURL: URL? { Bundle.module.url(forResource: "stomp_interop", withExtension: "py", subdirectory: "Interop") }

    static var stompPyAvailable: Bool {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import stomp"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }

    @Test(arguments: ["tcp", "ws"])
    func stompPyTalksToParley(transport: String) async throws {
        try #require(Self.stompPyAvailable, "stomp.py is required: pip install stomp.py")
        let script = try #require(Self.scriptURL)
        try await withParleyServer { server in
            let port = transport == "tcp" ? server.tcpPort : server.webSocketPort
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [
                "python3", script.path, transport, "127.0.0.1", String(port),
                try await server.accessToken(for: "alice"), try await server.accessToken(for: "bob"),
            ]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let finished = try await withTimeout(45) {
                let data = output.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                return String(decoding: data, as: UTF8.self)
            }
            print(finished)
            #expect(process.terminationStatus == 0, "stomp.py over \(transport):\n\(finished)")
            #expect(finished.contains("PASS"))
        }
    }
}
