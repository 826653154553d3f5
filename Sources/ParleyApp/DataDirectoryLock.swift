import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive lock on a data directory, held while one `parley serve` runs: two processes on one directory
/// would share its node id (and so split the Kafka partitions of one consumer group between them), its JWT
/// secret and its SQLite store.
///
/// `flock(2)` on `DIR/parley.lock`, which then holds the owner's PID for the message a second process prints.
/// The kernel drops the lock when the process ends, however it ends, so a crash leaves nothing to clean up.
public final class DataDirectoryLock: Sendable {
    /// The lock file's name inside the data directory.
    public static let fileName = "parley.lock"

    /// The directory locked, as an absolute path.
    public let directory: String
    private let descriptor: Mutex<Int32?>

    private init(directory: String, descriptor: Int32) {
        self.directory = directory
        self.descriptor = Mutex(descriptor)
    }

    deinit { release() }

    /// Locks `directory` (created if missing), or throws ``DataDirectoryLockError/held(directory:pid:)`` at once
    /// when another process, or another open lock in this one, holds it.
    public static func acquire(_ directory: String) throws(DataDirectoryLockError) -> DataDirectoryLock {
        let absolute = URL(fileURLWithPath: directory).standardizedFileURL.path
        do {
            try FileManager.default.createDirectory(atPath: absolute, withIntermediateDirectories: true)
        } catch {
            throw .unusable(directory: absolute, reason: "\(error.localizedDescription)")
        }
        let path = (absolute as NSString).appendingPathComponent(fileName)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .unusable(directory: absolute, reason: String(cString: strerror(errno))) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let lockError = errno
            let holder = Self.recordedPID(descriptor)
            close(descriptor)
            guard lockError == EWOULDBLOCK else {
                throw .unusable(directory: absolute, reason: "cannot lock \(path): \(String(cString: strerror(lockError)))")
            }
            throw .held(directory: absolute, pid: holder)
        }
        let text = Array("\(getpid())\n".utf8)
        let written = ftruncate(descriptor, 0) == 0 && text.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) } == text.count
        if !written {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw .unusable(directory: absolute, reason: "cannot write \(path): \(reason)")
        }
        return DataDirectoryLock(directory: absolute, descriptor: descriptor)
    }

    /// Unlocks (closing the file); later calls do nothing. The file stays: removing it would let a third process
    /// lock a new file while a second still waits on the old one.
    public func release() {
        guard let open = descriptor.withLock({ $0.take() }) else { return }
        close(open)
    }

    /// The PID the holder wrote into the lock file, if it did already.
    private static func recordedPID(_ descriptor: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return Int32(String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// Why `parley serve` could not lock its data directory.
public enum DataDirectoryLockError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Another `parley serve` (process `pid`, when it recorded one) runs on this directory.
    case held(directory: String, pid: Int32?)
    /// The directory or its lock file cannot be created, opened or locked.
    case unusable(directory: String, reason: String)

    /// One line for the operator, naming the directory and what to do.
    public var description: String {
        switch self {
        case .held(let directory, let pid):
            let holder = pid.map { "another parley serve (pid \($0))" } ?? "another parley serve"
            return "data directory \(directory) is in use by \(holder); give every node its own --data-dir"
        case .unusable(let directory, let reason):
            return "cannot use data directory \(directory): \(reason)"
        }
    }
}
