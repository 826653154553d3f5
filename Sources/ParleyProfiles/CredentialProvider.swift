import Foundation
import ParleyJSON

/// What a client puts in CONNECT to be a given user, and who the server will think it is.
public struct ClientCredentials: Sendable, Hashable {
    /// The id the server routes user destinations by (`${alice.user}` in conversations).
    public var userID: String
    /// The login name used with the account API or the `login` header.
    public var login: String
    /// The password used for the account API (generated), when the profile uses one.
    public var password: String?
    /// Authentication headers for CONNECT, in order.
    public var connectHeaders: [Header]
    /// Access token, for bearer profiles.
    public var accessToken: String?
    /// Refresh token, when the account API returned one.
    public var refreshToken: String?

    /// A header name/value pair (tuples are not Hashable).
    public struct Header: Sendable, Hashable {
        /// Header name.
        public var name: String
        /// Header value.
        public var value: String
        /// Creates a header.
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }
}

/// Provisions users for a profile: creates accounts and fetches tokens (bearer), or renders login/passcode.
///
/// Both the conformance runner and the load generator use it. It is an actor so concurrent clients share one
/// account API client and tokens are fetched once per user.
public actor CredentialProvider {
    /// The profile being targeted.
    public let profile: ServerProfile
    /// A short token unique to this run, appended to user names so reruns never collide.
    public let runID: String
    private let accountClient: AccountAPIClient?
    private var cache: [String: ClientCredentials] = [:]

    /// Creates a provider. `accountURL` overrides the profile's account API `default_url`.
    public init(profile: ServerProfile, accountURL: URL? = nil, runID: String = CredentialProvider.makeRunID()) throws {
        self.profile = profile
        self.runID = runID
        if profile.auth.method == .bearer || profile.auth.accountAPI != nil, let settings = profile.auth.accountAPI {
            accountClient = try AccountAPIClient(settings: settings, baseURL: accountURL)
        } else {
            accountClient = nil
        }
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
        switch profile.auth.method {
        case .bearer:
            guard let accountClient else {
                throw AccountAPIError(operation: "configure", status: nil, detail: "profile has no account_api")
            }
            let password = "Pw-\(runID)-\(name)-x9!"
            let tokens = try await accountClient.signUpAndLogIn(login: login, username: login, password: password)
            let bearer = profile.auth.bearer ?? BearerSettings()
            let header = bearer.header(for: tokens.accessToken)
            result = ClientCredentials(
                userID: login, login: login, password: password,
                connectHeaders: [.init(header.name, header.value)],
                accessToken: tokens.accessToken, refreshToken: tokens.refreshToken)
            result.userID = try userID(client: name, login: login, tokens: tokens)
        case .login:
            let settings = profile.auth.login ?? LoginSettings(login: "guest", passcode: "guest")
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
        switch profile.auth.userID {
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
