#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Masking keys for a client's WebSocket frames from the system's CSPRNG (`arc4random_buf`), fetched 256 bytes
/// at a time.
///
/// RFC 6455 §5.3 wants every masking key unpredictable; NIO's `WebSocketMaskingKey.random()` gets each one with
/// its own `getrandom` system call, which at tens of thousands of frames per second was a visible cost.
/// Owned by one handler, so used on one event loop only.
public struct MaskingKeySource: Sendable {
    private var pool = [UInt32](repeating: 0, count: 64)
    private var position = 64

    /// A source with nothing fetched yet.
    public init() {}

    /// The next key.
    public mutating func next32() -> UInt32 {
        if position == pool.count {
            pool.withUnsafeMutableBytes { arc4random_buf($0.baseAddress!, $0.count) }
            position = 0
        }
        defer { position += 1 }
        return pool[position]
    }
}
