import Foundation
import Testing

@testable import ParleyAuth

@Suite("JWTSecret")
struct JWTSecretTests {
    func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "parley-secret-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("secrets shorter than 32 bytes are refused with a clear message")
    func tooShort() {
        #expect(throws: JWTSecretError.tooShort(byteCount: 31, source: .environment)) {
            try JWTSecret.resolve(
                environment: ["PARLEY_JWT_SECRET": String(repeating: "x", count: 31)], dataDirectory: "/nonexistent")
        }
        let message = JWTSecretError.tooShort(byteCount: 5, source: .environment).description
        #expect(message.contains("at least 32 bytes") && message.contains("PARLEY_JWT_SECRET"))
    }

    @Test("description never shows the secret")
    func redacted() throws {
        let value = "super-secret-value-that-must-not-leak-0123"
        let secret = try JWTSecret.resolve(environment: ["PARLEY_JWT_SECRET": value], dataDirectory: "/nonexistent")
        #expect(secret.source == .environment)
        for text in [secret.description, secret.debugDescription, "\(secret)", String(reflecting: secret)] {
            #expect(!text.contains("super-secret"), "leaked in \(text)")
            #expect(text.contains("redacted"))
        }
    }

    @Test("environment wins over the file flag; the file loses its trailing newline")
    func precedence() async throws {
        let directory = try temporaryDirectory()
        let file = directory + "/secret.txt"
        try "file-secret-0123456789-0123456789-abc\n".write(toFile: file, atomically: true, encoding: .utf8)
        let fromFile = try JWTSecret.resolve(environment: [:], secretFile: file, dataDirectory: directory)
        #expect(fromFile.source == .file(path: file))
        #expect(fromFile.byteCount == 37)
        let fromEnvironment = try JWTSecret.resolve(
            environment: ["PARLEY_JWT_SECRET": String(repeating: "e", count: 40)], secretFile: file,
            dataDirectory: directory)
        #expect(fromEnvironment.source == .environment)
        #expect(throws: JWTSecretError.unreadable(path: directory + "/missing")) {
            try JWTSecret.load(fromFile: directory + "/missing")
        }
    }

    @Test("generated once, kept with mode 0600, and tokens survive a 'restart'")
    func persistence() async throws {
        let directory = try temporaryDirectory() + "/nested/data"
        let first = try JWTSecret.resolve(environment: [:], dataDirectory: directory)
        let path = directory + "/jwt-secret"
        #expect(first.source == .generatedInDataDirectory(path: path))
        #expect(first.byteCount >= 64)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)

        let token = try await JWTService(secret: first).issue(.access, subject: "5").token
        let second = try JWTSecret.resolve(environment: [:], dataDirectory: directory)
        #expect(second.source == .storedInDataDirectory(path: path))
        let verified = try await JWTService(secret: second).verify(token, as: .access)
        #expect(verified.subject == "5")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory)
        #expect(leftovers == ["jwt-secret"], "no temporary files left behind")
    }

    @Test("concurrent first starts agree on one secret")
    func concurrentCreation() async throws {
        let directory = try temporaryDirectory()
        let secrets = try await withThrowingTaskGroup(of: JWTSecret.self) { group in
            for _ in 0..<8 { group.addTask { try JWTSecret.loadOrCreate(inDataDirectory: directory) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let token = try await JWTService(secret: secrets[0]).issue(.refresh, subject: "1").token
        for secret in secrets {
            _ = try await JWTService(secret: secret).verify(token, as: .refresh)
        }
    }
}
