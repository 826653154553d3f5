import NIOCore
import ParleyCodec

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CPU time of the calling thread: on a shared machine this measures what one core does, independent of how long
/// the scheduler gave the core to other processes.
struct ThreadCPUClock {
    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}

/// Single-threaded decode and encode throughput of the STOMP codec.
enum CodecBenchmark {
    /// A typical chat MESSAGE as Parley's broker sends it, about 200 bytes on the wire.
    static func smallMessage() -> StompFrame {
        let body = #"{"messageId":"6f1c2a9e","roomId":"42","senderId":"7","content":"hi there","type":"TALK"}"#
        return StompFrame(
            .message,
            headers: [
                "destination": "/topic/rooms.42",
                "content-type": "application/json",
                "subscription": "sub-0",
                "message-id": "6f1c2a9e-1",
            ],
            body: body)
    }

    /// A SEND with a 64 KiB body.
    static func largeSend() -> StompFrame {
        StompFrame(
            .send, headers: ["destination": "/app/upload", "content-type": "application/octet-stream"],
            body: ByteBuffer(repeating: UInt8(ascii: "x"), count: 64 << 10))
    }

    /// `codec [--seconds S] [--case decode-small|decode-small-chunked|encode-small|decode-large|encode-large]`: prints frames/s and MB/s for each case.
    static func run(_ arguments: [String]) -> Int32 {
        var seconds = 1.0
        if let index = arguments.firstIndex(of: "--seconds"), index + 1 < arguments.count, let value = Double(arguments[index + 1]) {
            seconds = value
        }
        let small = smallMessage()
        let large = largeSend()
        var only: String?
        if let index = arguments.firstIndex(of: "--case"), index + 1 < arguments.count { only = arguments[index + 1] }
        print("codec benchmark, one thread, \(seconds) s of thread CPU time per case; rates are per CPU second")
        print("small MESSAGE: \(StompEncoder.encode(small).readableBytes) bytes on the wire")
        let cases: [(name: String, label: String, run: () -> Result)] = [
            ("decode-small", "decode small MESSAGE", { measureDecode(small, seconds: seconds) }),
            ("decode-small-chunked", "decode small, 100 B reads", { measureDecode(small, seconds: seconds, readSize: 100) }),
            ("encode-small", "encode small MESSAGE", { measureEncode(small, seconds: seconds) }),
            ("decode-large", "decode 64 KiB SEND*", { measureDecode(large, seconds: seconds) }),
            ("encode-large", "encode 64 KiB SEND", { measureEncode(large, seconds: seconds) }),
        ]
        for benchmarkCase in cases where only == nil || only == benchmarkCase.name {
            report(benchmarkCase.label, benchmarkCase.run())
        }
        if only == nil || only == "decode-large" {
            print("* content-length bodies are zero-copy slices of the input, so MB/s there is not a copy rate")
        }
        return 0
    }

    struct Result {
        var frames: Int
        var bytes: Int
        /// Thread CPU seconds spent.
        var cpuSeconds: Double
        /// Wall-clock seconds spent (longer than CPU time when other processes share the core).
        var wallSeconds: Double
    }

    static func report(_ label: String, _ result: Result) {
        let seconds = result.cpuSeconds
        let framesPerSecond = Double(result.frames) / seconds
        let megabytesPerSecond = Double(result.bytes) / seconds / 1_000_000
        print(
            "\(label + String(repeating: " ", count: max(0, 26 - label.count))) \(format(framesPerSecond)) frames/s  \(format(megabytesPerSecond)) MB/s  (CPU \(String(Int(result.cpuSeconds * 1000))) ms, wall \(String(Int(result.wallSeconds * 1000))) ms)")
    }

    static func format(_ value: Double) -> String {
        let rounded = Int(value.rounded())
        var digits = String(rounded)
        var index = digits.count - 3
        while index > 0 {
            digits.insert(",", at: digits.index(digits.startIndex, offsetBy: index))
            index -= 3
        }
        return String(repeating: " ", count: max(0, 12 - digits.count)) + digits
    }

    /// Decodes a pre-encoded batch of frames over and over with one decoder, as a connection would. With
    /// `readSize`, the bytes arrive in reads of that size appended to a cumulation buffer, as NIO's
    /// ByteToMessageHandler delivers them, so frames are split across reads.
    static func measureDecode(_ frame: StompFrame, seconds: Double, readSize: Int? = nil) -> Result {
        let frameBytes = StompEncoder.encode(frame).readableBytes
        let perBatch = max(1, (1 << 20) / frameBytes)
        var batch = ByteBuffer()
        for _ in 0..<perBatch { StompEncoder.encode(frame, into: &batch) }
        var decoder = StompDecoder()
        var frames = 0
        var checksum = 0
        let clock = ContinuousClock()
        let start = clock.now
        let cpuStart = ThreadCPUClock.now()
        var cumulation = ByteBuffer()
        repeat {
            var input = batch
            do {
                if let readSize {
                    while input.readableBytes > 0 {
                        var read = input.readSlice(length: min(readSize, input.readableBytes))!
                        cumulation.writeBuffer(&read)
                        while let decoded = try decoder.next(from: &cumulation) {
                            if case .frame(let frame) = decoded { checksum &+= frame.headers.count &+ frame.body.readableBytes }
                            frames += 1
                        }
                        if cumulation.readerIndex > 4096 { cumulation.discardReadBytes() }
                    }
                } else {
                    while let decoded = try decoder.next(from: &input) {
                        if case .frame(let frame) = decoded { checksum &+= frame.headers.count &+ frame.body.readableBytes }
                        frames += 1
                    }
                }
            } catch {
                fatalError("benchmark input failed to decode: \(error)")
            }
        } while ThreadCPUClock.now() - cpuStart < seconds
        let cpuSeconds = ThreadCPUClock.now() - cpuStart
        let wall = clock.now - start
        let wallSeconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
        precondition(checksum != 0)
        return Result(frames: frames, bytes: frames * frameBytes, cpuSeconds: cpuSeconds, wallSeconds: wallSeconds)
    }

    /// Encodes into one reused buffer, cleared every batch, as a channel's outbound buffer would be.
    static func measureEncode(_ frame: StompFrame, seconds: Double) -> Result {
        let frameBytes = StompEncoder.encode(frame).readableBytes
        let perBatch = max(1, (1 << 20) / frameBytes)
        var output = ByteBuffer()
        output.reserveCapacity(perBatch * frameBytes + 64)
        var frames = 0
        var written = 0
        let clock = ContinuousClock()
        let start = clock.now
        let cpuStart = ThreadCPUClock.now()
        repeat {
            output.clear()
            for _ in 0..<perBatch { StompEncoder.encode(frame, into: &output) }
            written &+= output.readableBytes
            frames += perBatch
        } while ThreadCPUClock.now() - cpuStart < seconds
        let cpuSeconds = ThreadCPUClock.now() - cpuStart
        let wall = clock.now - start
        let wallSeconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
        precondition(written == frames * frameBytes)
        return Result(frames: frames, bytes: written, cpuSeconds: cpuSeconds, wallSeconds: wallSeconds)
    }
}
