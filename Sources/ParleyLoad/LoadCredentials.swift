import ParleyClient
import ParleyProfiles

/// Supplies the credentials of client `index` of run `runID` (called once per client before the run starts).
public protocol LoadCredentialProvider: Sendable {
    /// Credentials for one client.
    func credentials(forClient index: Int, runID: String) async throws -> ClientCredentials
}

/// The same credentials for every client (guest/guest for RabbitMQ, or none).
public struct StaticCredentials: LoadCredentialProvider {
    /// What every client sends.
    public var value: ClientCredentials

    /// Creates the provider.
    public init(_ value: ClientCredentials = ClientCredentials()) {
        self.value = value
    }

    /// Returns `value`.
    public func credentials(forClient index: Int, runID: String) async throws -> ClientCredentials { value }
}

/// Credentials from a closure, e.g. tokens a test minted itself.
public struct ClosureCredentials: LoadCredentialProvider {
    private let body: @Sendable (Int, String) async throws -> ClientCredentials

    /// Creates the provider.
    public init(_ body: @escaping @Sendable (_ index: Int, _ runID: String) async throws -> ClientCredentials) {
        self.body = body
    }

    /// Calls the closure.
    public func credentials(forClient index: Int, runID: String) async throws -> ClientCredentials {
        try await body(index, runID)
    }
}

/// A profile's users (account API sign-up and login for bearer profiles, rendered login/passcode otherwise):
/// client `i` is the logical user `load<i>`. Create the provider with the run's id so names match the run.
extension CredentialProvider: LoadCredentialProvider {
    /// The credentials of logical user `load<index>`.
    public func credentials(forClient index: Int, runID: String) async throws -> ClientCredentials {
        try await credentials(for: "load\(index)")
    }
}

extension StompClient.Options {
    /// Adds the CONNECT headers of `credentials` (after the base options' own).
    mutating func authenticate(with credentials: ClientCredentials) {
        for header in credentials.connectHeaders { headers[header.name] = header.value }
    }
}
