import Foundation
import XCTest

/// One finished run of the `parley` binary.
struct CLIRun {
    /// Exit status.
    var status: Int32
    /// Standard output, as bytes (`frames encode` writes binary frames).
    var stdoutData: Data
    /// Standard error.
    var stderr: String
    /// Standard output as text.
    var stdout: String { String(decoding: stdoutData, as: UTF8.self) }
    /// Same as ``stdout``.
    var stdoutText: String { stdout }
}

/// Runs the built `parley` executable (built because this test target depends on it) as a user would.
enum ParleyCLI {
    /// The repository root (where `conformance/` and `Fixtures/` live).
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `parley` executable next to the test bundle (`.build/<triple>/debug/parley`).
    static var executable: URL {
        var directory = Bundle(for: FramesCLITests.self).bundleURL
        for _ in 0..<3 {
            let candidate = directory.appendingPathComponent("parley")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("parley")
    }

    /// Runs `parley arguments`, feeding `stdin`, reading both pipes concurrently so large outputs cannot
    /// deadlock; a run past `timeout` is terminated and reported as a test failure.
    static func run(
        _ arguments: [String], stdin: Data? = nil, in directory: URL? = nil, timeout: Double = 60
    ) throws -> CLIRun {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let output = Pipe()
        let errors = Pipe()
        let input = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = input
        try process.run()
        let group = DispatchGroup()
        nonisolated(unsafe) var out = Data()
        nonisolated(unsafe) var err = Data()
        DispatchQueue.global().async(group: group) { out = output.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue.global().async(group: group) { err = errors.fileHandleForReading.readDataToEndOfFile() }
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        if group.wait(timeout: .now() + timeout) != .success {
            process.terminate()
            XCTFail("parley \(arguments) timed out after \(timeout) s")
        }
        process.waitUntilExit()
        return CLIRun(status: process.terminationStatus, stdoutData: out, stderr: String(decoding: err, as: UTF8.self))
    }
}
