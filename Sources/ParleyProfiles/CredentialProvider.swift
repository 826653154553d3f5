import Foundation
import ParleyJSON

/// Provisions users for a profile's auth settings: creates accounts and fetches tokens (bearer), or renders
/// login/passcode.
///
/// Both the conformance runner and the load generator use it. It is an actor so concurrent clients share one
/// account API client and tokens are fetched once per user.
public actor CredentialProvider {
    /// How the targeted server authenticates clients.
    public let auth: AuthSettings
    /// A short token unique to this run, appended to user names so reruns never collide.
    public let runID: String
    private let accountClient: AccountAPIClient?
    private var cache: [String: ClientCredentials] = [:]

    /// Creates a provider for `auth` (``AuthSettings/parley`` for Parley without a profile file).
    /// `accountURL` overrides the account API's `default_url`.
    public init(auth: AuthSettings, accountURL: URL? = nil, runID: String = CredentialProvider.makeRunID()) throws {
        self.auth = auth
        self.runID = runID
        if let settings = auth.accountAPI {
            accountClient = try AccountAPIClient(settings: settings, baseURL: accountURL)
        } else {
            accountClient = nil
        }
    }

    /// Creates a provider for `profile`'s auth settings.
    public init(profile: ServerProfile, accountURL: URL? = nil, runID: String = CredentialProvider.makeRunID()) throws {
        try self.init(auth: profile.auth, accountURL: accountURL, runID: runID)
    }

    /// A fresh 8-hex-digit run id.
    public static func makeRunID() -> String {
        String(UInt32.random(in: 0...UInt32.max), radix: 16).leftPadded(to: 8)
    }

    /// The login name used for logical user `name` in this run (`alice` → `alice-1a2b3c4d`).
    public func loginName(for name: String) -> String { "\(name)-\(runID)" }

    /// Credentials for logical user `name` using the profile's default method; cached per name.
    public func credentials(for name: String) async throws -> ClientCredentials {
        if let cached = cache[name] { return cached }
        let login = loginName(for: name)
        var result: ClientCredentials
        switch auth.method {
        case .bearer:
            guard let accountClient else {
                throw AccountAPIError(operation: "configure", status: nil, detail: "profile has no account_api")
            }
            let password = "Pw-\(runID)-\(name)-x9!"
            let tokens = try await accountClient.signUpAndLogIn(login: login, username: login, password: password)
            let bearer = auth.bearer ?? BearerSettings()
            let header = bearer.header(for: tokens.accessToken)
            result = ClientCredentials(
                userID: login, login: login, password: password,
                connectHeaders: [.init(header.name, header.value)],
                accessToken: tokens.accessToken, refreshToken: tokens.refreshToken)
            result.userID = try userID(client: name, login: login, tokens: tokens)
        case .login:
            let settings = auth.login ?? LoginSettings(login: "guest", passcode: "guest")
            let values = ["user": login, "client": name, "run": runID]
            result = ClientCredentials(
                userID: login, login: Template.render(settings.login, values), password: nil,
                connectHeaders: [
                    .init("login", Template.render(settings.login, values)),
                    .init("passcode", Template.render(settings.passcode, values)),
                ], accessToken: nil, refreshToken: nil)
            result.userID = try userID(client: name, login: login, tokens: nil)
        case .none:
            result = ClientCredentials(
                userID: login, login: login, password: nil, connectHeaders: [], accessToken: nil, refreshToken: nil)
            result.userID = try userID(client: name, login: login, tokens: nil)
        }
        cache[name] = result
        return result
    }

    private func userID(client: String, login: String, tokens: IssuedTokens?) throws -> String {
        switch auth.userID {
        case .template(let template):
            return Template.render(template, ["client": client, "run": runID, "login": login])
        case .tokenSubject:
            guard let token = tokens?.accessToken, let subject = JWTPeek.subject(of: token) else {
                throw AccountAPIError(operation: "user id of \(client)", status: nil, detail: "access token has no sub claim")
            }
            return subject
        case .signupField(let path):
            guard let value = tokens?.signupResponse?[path: path] else {
                throw AccountAPIError(
                    operation: "user id of \(client)", status: nil, detail: "signup response has no field \(path)")
            }
            return value.textValue
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
