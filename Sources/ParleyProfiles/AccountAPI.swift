import Foundation

/// Where and how to create accounts and obtain tokens (Parley's and the original Spring app's `/auth/*` API).
public struct AccountAPISettings: Sendable, Hashable, Codable {
    /// Base URL used when the runner is not given one (e.g. `http://127.0.0.1:8085`).
    public var defaultURL: String
    /// The signup request.
    public var signup: AccountRequest
    /// The login request.
    public var login: AccountRequest
    /// Dotted JSON path of the access token in the login response.
    public var accessTokenField: String
    /// Dotted JSON path of the refresh token in the login response.
    public var refreshTokenField: String?

    /// Creates account API settings.
    public init(
        defaultURL: String, signup: AccountRequest, login: AccountRequest, accessTokenField: String,
        refreshTokenField: String? = nil
    ) {
        self.defaultURL = defaultURL
        self.signup = signup
        self.login = login
        self.accessTokenField = accessTokenField
        self.refreshTokenField = refreshTokenField
    }

    enum CodingKeys: String, CodingKey {
        case signup, login
        case defaultURL = "default_url"
        case accessTokenField = "access_token_field"
        case refreshTokenField = "refresh_token_field"
    }
}

/// One account API call: method, path and a JSON body template over `{login}`, `{username}`, `{password}`.
public struct AccountRequest: Sendable, Hashable, Codable {
    /// HTTP method, default POST.
    public var method: String
    /// Path below the base URL, e.g. `/auth/login`.
    public var path: String
    /// Body template; `{login|json}` etc. insert JSON string literals.
    public var body: String

    /// Creates a request description.
    public init(method: String = "POST", path: String, body: String) {
        self.method = method
        self.path = path
        self.body = body
    }

    enum CodingKeys: String, CodingKey { case method, path, body }

    /// Decodes a request; `method` defaults to POST.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        method = try container.decodeIfPresent(String.self, forKey: .method) ?? "POST"
        path = try container.decode(String.self, forKey: .path)
        body = try container.decode(String.self, forKey: .body)
    }
}

/// Tokens returned by a login.
public struct IssuedTokens: Sendable, Hashable {
    /// The access token (sent in CONNECT).
    public var accessToken: String
    /// The refresh token, when the API returns one.
    public var refreshToken: String?
    /// The parsed signup response, when the account was created by this client (for `user_id: signup`).
    public var signupResponse: JSONValue?
}

/// Why an account API call failed.
public struct AccountAPIError: Error, Sendable, CustomStringConvertible {
    /// What was attempted, e.g. `signup alice-3f2a`.
    public var operation: String
    /// HTTP status, nil when no response came back.
    public var status: Int?
    /// The response body or the transport error text.
    public var detail: String

    /// Human readable summary.
    public var description: String {
        if let status { return "account API \(operation) failed: HTTP \(status): \(detail)" }
        return "account API \(operation) failed: \(detail)"
    }
}

/// Signup then login against an account API whose request shapes come from a server profile: the kit's one
/// account API client (conformance runs, load runs, tests). `http://` only.
///
/// It renders the profile's request templates, sends them (``AccountHTTPTransport``) and reads the token
/// fields the profile names; ``AccountAPISettings/parley`` describes Parley's own API.
public struct AccountAPIClient: Sendable {
    /// Base URL of the API, e.g. `http://127.0.0.1:8085`.
    public let baseURL: URL
    /// Request shapes from the profile.
    public let settings: AccountAPISettings
    /// Bound on each request (connect + response).
    public let timeout: Duration
    private let transport: AccountHTTPTransport

    /// Creates a client for `baseURL` (defaults to the profile's `default_url`); only `http://host[:port]` URLs.
    public init(settings: AccountAPISettings, baseURL: URL? = nil, timeout: Duration = .seconds(10)) throws(AccountAPIError) {
        guard let url = baseURL ?? URL(string: settings.defaultURL) else {
            throw AccountAPIError(operation: "configure", status: nil, detail: "invalid URL \(settings.defaultURL)")
        }
        do {
            transport = try AccountHTTPTransport(baseURL: url, timeout: timeout)
        } catch {
            throw AccountAPIError(operation: "configure", status: nil, detail: error.description)
        }
        self.baseURL = url
        self.settings = settings
        self.timeout = timeout
    }

    /// Creates the account (a 409 "already exists" is accepted so reruns work) and logs in.
    public func signUpAndLogIn(login: String, username: String, password: String) async throws(AccountAPIError) -> IssuedTokens {
        let values = ["login": login, "username": username, "password": password]
        let (signupStatus, signupBody) = try await call(settings.signup, values: values, operation: "signup \(login)")
        guard (200..<300).contains(signupStatus) || signupStatus == 409 else {
            throw AccountAPIError(operation: "signup \(login)", status: signupStatus, detail: Self.text(signupBody))
        }
        var tokens = try await logIn(login: login, password: password)
        tokens.signupResponse = try? JSONValue(data: signupBody)
        return tokens
    }

    /// Logs in and returns the tokens.
    public func logIn(login: String, password: String) async throws(AccountAPIError) -> IssuedTokens {
        let values = ["login": login, "password": password, "username": login]
        let (status, body) = try await call(settings.login, values: values, operation: "login \(login)")
        guard (200..<300).contains(status) else {
            throw AccountAPIError(operation: "login \(login)", status: status, detail: Self.text(body))
        }
        let json: JSONValue
        do { json = try JSONValue(data: body) } catch {
            throw AccountAPIError(operation: "login \(login)", status: status, detail: "response is not JSON")
        }
        guard let access = json[path: settings.accessTokenField]?.stringValue else {
            throw AccountAPIError(
                operation: "login \(login)", status: status,
                detail: "no string at \(settings.accessTokenField) in \(Self.text(body))")
        }
        let refresh = settings.refreshTokenField.flatMap { json[path: $0]?.stringValue }
        return IssuedTokens(accessToken: access, refreshToken: refresh, signupResponse: nil)
    }

    private func call(_ request: AccountRequest, values: [String: String], operation: String) async throws(AccountAPIError)
        -> (Int, Data)
    {
        // The base URL may carry a path prefix (`http://host/api/`): resolve the request path against it.
        guard let url = URL(string: request.path, relativeTo: baseURL) else {
            throw AccountAPIError(operation: operation, status: nil, detail: "invalid path \(request.path)")
        }
        let path = (url.path.isEmpty ? "/" : url.path) + (url.query.map { "?\($0)" } ?? "")
        do {
            let response = try await transport.request(
                method: request.method.uppercased(), path: path, body: Array(Template.render(request.body, values).utf8))
            return (response.status, Data(response.body))
        } catch {
            throw AccountAPIError(operation: operation, status: nil, detail: "\(error) (\(url.absoluteString))")
        }
    }

    private static func text(_ data: Data) -> String {
        String(decoding: data.prefix(500), as: UTF8.self)
    }
}
