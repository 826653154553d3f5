/// What a client puts in CONNECT to be a given user, and who the server will think it is: the kit's one
/// credential type, made by ``CredentialProvider`` from a profile or directly (tests, static logins) and used
/// as is by conformance and load runs.
public struct ClientCredentials: Sendable, Hashable {
    /// The id the server routes this user's user destinations by (`${alice.user}` in conversations, the
    /// principal of a load client); nil when only the server knows it (a load client then takes CONNECTED's
    /// `user-name`, else ``login``).
    public var userID: String?
    /// The login name: the one used with the account API, or the `login` header.
    public var login: String?
    /// The password used with the account API (generated), when the profile uses one.
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

    /// Creates credentials; every part is optional (none at all connects anonymously).
    public init(
        userID: String? = nil, login: String? = nil, password: String? = nil, connectHeaders: [Header] = [],
        accessToken: String? = nil, refreshToken: String? = nil
    ) {
        self.userID = userID
        self.login = login
        self.password = password
        self.connectHeaders = connectHeaders
        self.accessToken = accessToken
        self.refreshToken = refreshToken
    }

    /// `token` as `Authorization: Bearer …` (``BearerSettings``' default), for the user `userID` when known.
    public static func bearer(_ token: String, userID: String? = nil) -> ClientCredentials {
        let header = BearerSettings().header(for: token)
        return ClientCredentials(userID: userID, connectHeaders: [Header(header.name, header.value)], accessToken: token)
    }

    /// `login` and `passcode` headers, each only when given (guest/guest for RabbitMQ, say).
    public static func login(_ login: String?, passcode: String?, userID: String? = nil) -> ClientCredentials {
        var headers: [Header] = []
        if let login { headers.append(Header("login", login)) }
        if let passcode { headers.append(Header("passcode", passcode)) }
        return ClientCredentials(userID: userID, login: login, connectHeaders: headers)
    }
}
