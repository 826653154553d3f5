import ArgumentParser
import Foundation
import NIOCore
import ParleyCodec
import ParleyCodecJSON

/// `parley frames`: convert between STOMP wire bytes and the frame JSON used by fixtures and reports.
struct FramesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "frames",
        abstract: "Decode STOMP wire bytes to JSON, or encode JSON to wire bytes.",
        subcommands: [DecodeFrames.self, EncodeFrames.self]
    )
}

extension StompVersion: ExpressibleByArgument {}

/// Options shared by both directions.
struct VersionOption: ParsableArguments {
    @Option(name: .customLong("version"), help: "STOMP version for header escaping: 1.0, 1.1 or 1.2.")
    var stompVersion: StompVersion = .v1_2
}

/// The decoder limits as flags.
struct LimitOptions: ParsableArguments {
    @Option(help: "Largest whole frame in bytes.")
    var maxFrameSize: Int = StompLimits.default.maxFrameSize
    @Option(help: "Largest body in bytes.")
    var maxBodySize: Int = StompLimits.default.maxBodySize
    @Option(help: "Most header lines per frame.")
    var maxHeaderCount: Int = StompLimits.default.maxHeaderCount
    @Option(help: "Longest header line in bytes.")
    var maxHeaderLineLength: Int = StompLimits.default.maxHeaderLineLength
    @Option(help: "Longest command line in bytes.")
    var maxCommandLength: Int = StompLimits.default.maxCommandLength

    var limits: StompLimits {
        StompLimits(
            maxFrameSize: maxFrameSize, maxBodySize: maxBodySize, maxHeaderCount: maxHeaderCount,
            maxHeaderLineLength: maxHeaderLineLength, maxCommandLength: maxCommandLength)
    }

    func validate() throws {
        for (name, value) in [
            ("--max-frame-size", maxFrameSize), ("--max-body-size", maxBodySize), ("--max-header-count", maxHeaderCount),
            ("--max-header-line-length", maxHeaderLineLength), ("--max-command-length", maxCommandLength),
        ] where value < 0 {
            throw ValidationError("\(name) must not be negative")
        }
    }
}

/// Reads a whole file, or standard input for `-`.
func readInput(_ path: String) throws -> Data {
    if path == "-" { return FileHandle.standardInput.readDataToEndOfFile() }
    do {
        return try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
        throw CLIError("cannot read \(path): \((error as NSError).localizedDescription)")
    }
}

/// A failure printed as `error: <message>` on stderr, exiting with status 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Prints `error: …` to stderr and fails with exit status 1.
func fail(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    return ExitCode(1)
}

struct DecodeFrames: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode STOMP wire bytes and print each frame as JSON.",
        discussion: """
            Prints one JSON object per line (or pretty with --pretty): command, headers as [name, value] pairs in
            wire order, body as UTF-8 text or bodyBase64. EOLs between frames print as {"heartBeat": true} unless
            --no-heart-beats. Exit status 0 when every file decodes completely; 1 with "error: <kind>: <message>"
            on stderr when a file is malformed, ends inside a frame or cannot be read.
            """
    )

    @Argument(help: "Files with raw STOMP bytes; - reads standard input.")
    var files: [String]

    @OptionGroup var version: VersionOption
    @OptionGroup var limits: LimitOptions

    @Flag(help: "Pretty-print each frame's JSON over several lines.")
    var pretty = false

    @Flag(name: .customLong("no-heart-beats"), help: "Do not print heart-beats.")
    var skipHeartBeats = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one FILE (or - for standard input)") }
    }

    func run() throws {
        var output = ""
        for path in files {
            let bytes: Data
            do {
                bytes = try readInput(path)
            } catch {
                print(output, terminator: "")
                throw fail("\(error)")
            }
            let outcome = StompDecodeOutcome.decode(
                [UInt8](bytes), version: version.stompVersion, limits: limits.limits)
            for item in outcome.items where !(skipHeartBeats && item == .heartBeat) {
                output += StompJSON.string(for: item, pretty: pretty) + "\n"
            }
            let origin = files.count > 1 ? " (\(path))" : ""
            if let error = outcome.error {
                print(output, terminator: "")
                throw fail("\(error.kind.rawValue): \(error.message)\(origin)")
            }
            if outcome.incomplete {
                print(output, terminator: "")
                throw fail("incomplete: input ends inside a frame\(origin)")
            }
        }
        print(output, terminator: "")
    }
}

struct EncodeFrames: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Encode frame JSON (as printed by `frames decode`) to STOMP wire bytes on standard output.",
        discussion: """
            Input: one JSON object, an array of them, or one per line. Each encoded frame is decoded again and must
            come back unchanged, so frames a peer could not read (unknown command, body on SUBSCRIBE, line break in
            a CONNECT header) are refused unless --unchecked. Exit status 1 with "error: ..." on invalid input.
            """
    )

    @Argument(help: "JSON file; - or nothing reads standard input.")
    var file: String = "-"

    @OptionGroup var version: VersionOption

    @Flag(help: "Write frames even when they would not decode back unchanged (to craft invalid input on purpose).")
    var unchecked = false

    func run() throws {
        let items: [StompDecoded]
        do {
            items = try StompJSON.items(from: try readInput(file))
        } catch let error as StompJSONError {
            throw fail("invalid frame JSON: \(error.message)")
        } catch {
            throw fail("\(error)")
        }
        var wire = ByteBuffer()
        for (index, item) in items.enumerated() {
            switch item {
            case .heartBeat:
                wire.writeInteger(StompEncoder.heartBeat)
            case .frame(let frame):
                var encoded = StompEncoder.encode(frame, version: version.stompVersion)
                if !unchecked, let problem = roundTripProblem(frame, encoded: encoded) {
                    throw fail("frame \(index + 1) (\(frame.command)) cannot be encoded for STOMP \(version.stompVersion.rawValue): \(problem)")
                }
                wire.writeBuffer(&encoded)
            }
        }
        FileHandle.standardOutput.write(Data(wire.readableBytesView))
    }

    /// Why the encoded bytes would not decode to the same frame (the encoder adds content-length), or nil.
    private func roundTripProblem(_ frame: StompFrame, encoded: ByteBuffer) -> String? {
        var decoder = StompDecoder(version: version.stompVersion, limits: StompLimits(
            maxFrameSize: .max, maxBodySize: .max, maxHeaderCount: .max, maxHeaderLineLength: .max, maxCommandLength: .max))
        var buffer = encoded
        do {
            guard case .frame(let decoded)? = try decoder.next(from: &buffer), buffer.readableBytes == 0 else {
                return "it does not form one complete frame (wrong content-length?)"
            }
            var expected = frame
            if frame.body.readableBytes > 0 && frame.headers["content-length"] == nil {
                expected.headers.add("content-length", String(frame.body.readableBytes))
            }
            return decoded == expected ? nil : "a header cannot be represented in this version (line break or colon?)"
        } catch {
            return "\(error.kind.rawValue): \(error.message)"
        }
    }
}
