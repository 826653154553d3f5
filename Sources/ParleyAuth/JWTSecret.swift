import Crypto
import Foundation
import ParleyJSON

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The HMAC key that signs and verifies Parley tokens.
///
/// It comes from `PARLEY_JWT_SECRET`, from a file, or is generated once and kept in the data directory so a
/// restart keeps issued tokens valid. Its bytes never appear in `description`, logs or errors.
public struct JWTSecret: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// Where a secret came from (safe to log).
    public enum Source: Sendable, Hashable, CustomStringConvertible {
        /// The `PARLEY_JWT_SECRET` environment variable.
        case environment
        /// A file given explicitly (`--jwt-secret-file`).
        case file(path: String)
        /// The data directory's secret file, created by an earlier run.
        case storedInDataDirectory(path: String)
        /// The data directory's secret file, created just now.
        case generatedInDataDirectory(path: String)
        /// Bytes handed to the initializer.
        case bytes

        /// Human-readable origin (never the secret).
        public var description: String {
            switch self {
            case .environment: "environment variable \(JWTSecret.environmentVariable)"
            case .file(let path): "file \(path)"
            case .storedInDataDirectory(let path): "stored secret \(path)"
            case .generatedInDataDirectory(let path): "newly generated secret \(path)"
            case .bytes: "bytes"
            }
        }
    }

    /// The environment variable that carries the secret.
    public static let environmentVariable = "PARLEY_JWT_SECRET"
    /// HS256 needs at least a 256-bit key (RFC 7518 §3.2).
    public static let minimumByteCount = 32
    /// The file name inside the data directory.
    public static let dataDirectoryFileName = "jwt-secret"

    let key: SymmetricKey
    /// Where the secret came from.
    public let source: Source

    /// Number of key bytes (safe to log).
    public var byteCount: Int { key.bitCount / 8 }

    /// Uses `bytes` as the key; throws unless there are at least ``minimumByteCount`` of them.
    public init(bytes: some Sequence<UInt8>, source: Source = .bytes) throws(JWTSecretError) {
        let bytes = Array(bytes)
        guard bytes.count >= Self.minimumByteCount else {
            throw .tooShort(byteCount: bytes.count, source: source)
        }
        self.key = SymmetricKey(data: bytes)
        self.source = source
    }

    /// Reads a secret file: its bytes, less one trailing line break (files written with `echo` have one).
    public static func load(fromFile path: String) throws(JWTSecretError) -> JWTSecret {
        try load(path: path, source: .file(path: path))
    }

    /// Resolves the secret the way `parley serve` does: `PARLEY_JWT_SECRET`, else `secretFile`, else the data
    /// directory's `jwt-secret` file, generating it (64 random bytes, base64url, mode 0600) if missing.
    public static func resolve(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        secretFile: String? = nil,
        dataDirectory: String
    ) throws(JWTSecretError) -> JWTSecret {
        if let value = environment[environmentVariable], !value.isEmpty {
            return try JWTSecret(bytes: Array(value.utf8), source: .environment)
        }
        if let secretFile {
            return try load(fromFile: secretFile)
        }
        return try loadOrCreate(inDataDirectory: dataDirectory)
    }

    /// Loads `DIR/jwt-secret`, creating the directory and a fresh random secret when there is none.
    public static func loadOrCreate(inDataDirectory directory: String) throws(JWTSecretError) -> JWTSecret {
        let path = (directory as NSString).appendingPathComponent(dataDirectoryFileName)
        if FileManager.default.fileExists(atPath: path) {
            return try load(path: path, source: .storedInDataDirectory(path: path))
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .unwritable(path: directory, reason: "\(error)")
        }
        var random = SystemRandomNumberGenerator()
        let randomBytes = (0..<64).map { _ in UInt8.random(in: .min ... .max, using: &random) }
        let contents = Array((Base64URL.encode(randomBytes) + "\n").utf8)
        // Write a private temporary file, then link it into place: link() fails if another process won the
        // race, and then that process's secret is the one everybody uses.
        let temporaryPath = path + ".\(getpid()).\(UInt32.random(in: .min ... .max)).tmp"
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            throw .unwritable(path: temporaryPath, reason: String(cString: strerror(errno)))
        }
        defer { unlink(temporaryPath) }
        let written = contents.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == contents.count, synced == 0 else {
            throw .unwritable(path: temporaryPath, reason: String(cString: strerror(errno)))
        }
        if link(temporaryPath, path) != 0 {
            guard errno == EEXIST else { throw .unwritable(path: path, reason: String(cString: strerror(errno))) }
            return try load(path: path, source: .storedInDataDirectory(path: path))
        }
        return try load(path: path, source: .generatedInDataDirectory(path: path))
    }

    private static func load(path: String, source: Source) throws(JWTSecretError) -> JWTSecret {
        guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path: path) }
        var bytes = Array(data)
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        return try JWTSecret(bytes: bytes, source: source)
    }

    /// Redacted: says where the secret came from and how long it is, never what it is.
    public var description: String { "JWTSecret(<redacted>, \(byteCount) bytes, from \(source))" }
    /// Same as ``description``.
    public var debugDescription: String { description }
}

/// Why no usable secret could be had. Messages never contain secret bytes.
public enum JWTSecretError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The secret has fewer than ``JWTSecret/minimumByteCount`` bytes.
    case tooShort(byteCount: Int, source: JWTSecret.Source)
    /// The secret file does not exist or cannot be read.
    case unreadable(path: String)
    /// The data directory or the secret file cannot be written.
    case unwritable(path: String, reason: String)

    /// A message for the operator.
    public var description: String {
        switch self {
        case .tooShort(let count, let source):
            "JWT secret from \(source) is \(count) bytes; it must be at least \(JWTSecret.minimumByteCount) bytes"
        case .unreadable(let path):
            "cannot read JWT secret file \(path)"
        case .unwritable(let path, let reason):
            "cannot write JWT secret to \(path): \(reason)"
        }
    }
}
