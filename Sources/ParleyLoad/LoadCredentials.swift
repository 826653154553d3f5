import ParleyClient
import ParleyCodec
import ParleyJSON

/// What one load client presents in CONNECT.
public struct LoadCredentials: Sendable, Hashable {
    /// Sent as `Authorization: Bearer …`.
    public var bearerToken: String?
    /// `login` header.
    public var login: String?
    /// `passcode` header.
    public var passcode: String?
    /// The name the server routes this client's user destinations by (e.g. the token subject). When nil, the
    /// CONNECTED frame's `user-name`, then the login, are used.
    public var principal: String?
    /// Further CONNECT headers (e.g. a profile's authentication headers).
    public var connectHeaders: StompHeaders

    /// Creates credentials; all parts optional.
    public init(
        bearerToken: String? = nil,
        login: String? = nil,
        passcode: String? = nil,
        principal: String? = nil,
        connectHeaders: StompHeaders = [:]
    ) {
        self.bearerToken = bearerToken
        self.login = login
        self.passcode = passcode
        self.principal = principal
        self.connectHeaders = connectHeaders
    }
}

/// Supplies credentials for client `index` of run `runID` (called once per client before the run starts).
public protocol LoadCredentialProvider: Sendable {
    /// Credentials for one client.
    func credentials(forClient index: Int, runID: String) async throws -> LoadCredentials
}

/// The same credentials for every client (guest/guest for RabbitMQ, or none).
public struct StaticCredentials: LoadCredentialProvider {
    /// What every client sends.
    public var value: LoadCredentials

    /// Creates the provider.
    public init(_ value: LoadCredentials = LoadCredentials()) {
        self.value = value
    }

    /// Returns `value`.
    public func credentials(forClient index: Int, runID: String) async throws -> LoadCredentials { value }
}

/// Credentials from a closure, e.g. tokens a test minted itself.
public struct ClosureCredentials: LoadCredentialProvider {
    private let body: @Sendable (Int, String) async throws -> LoadCredentials

    /// Creates the provider.
    public init(_ body: @escaping @Sendable (_ index: Int, _ runID: String) async throws -> LoadCredentials) {
        self.body = body
    }

    /// Calls the closure.
    public func credentials(forClient index: Int, runID: String) async throws -> LoadCredentials {
        try await body(index, runID)
    }
}

/// Creates one account per client through Parley's account API (`POST /auth/signup`, then `POST /auth/login`)
/// and returns its access token as a bearer token. Login ids are `<prefix><run><index>`.
public struct AccountAPICredentials: LoadCredentialProvider {
    /// The account API.
    public var api: ParleyAccountClient
    /// Login id prefix (letters and digits only, to satisfy strict loginId rules).
    public var loginPrefix: String
    /// Password of every load account.
    public var password: String

    /// Creates the provider.
    public init(api: ParleyAccountClient, loginPrefix: String = "load", password: String = "Load-test-pass-1234") {
        self.api = api
        self.loginPrefix = loginPrefix
        self.password = password
    }

    /// Signs up (409 tolerated) and logs in `<prefix><run><index>`.
    public func credentials(forClient index: Int, runID: String) async throws -> LoadCredentials {
        let loginID = "\(loginPrefix)\(runID)\(index)"
        let tokens = try await api.signupAndLogin(loginId: loginID, username: loginID, password: password)
        // Parley routes user destinations by the token's subject; the CONNECTED `user-name` names it too.
        return LoadCredentials(bearerToken: tokens.accessToken, principal: JWTPeek.subject(of: tokens.accessToken))
    }
}
