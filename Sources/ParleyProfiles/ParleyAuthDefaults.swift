// Parley's own authentication, for runs without a profile file. `conformance/profiles/parley.yaml` spells out
// the same settings; ParleyProfilesTests keeps the two equal.

extension AuthSettings {
    /// Parley: a JWT from its account API (``AccountAPISettings/parley``) as `Authorization: Bearer …`; the
    /// token's `sub` (the account id) is the user id the broker routes user destinations by.
    public static let parley = AuthSettings(
        method: .bearer,
        bearer: BearerSettings(),
        accountAPI: .parley,
        userID: .tokenSubject,
        tokenMinting: TokenMintingSettings(
            secretEnv: "PARLEY_JWT_SECRET", typeClaim: "token_type", accessType: "access", refreshType: "refresh"))
}

extension AccountAPISettings {
    /// Parley's own account API, the shapes of the original Spring service: `POST /auth/signup` and
    /// `POST /auth/login` with `loginId`, tokens in `tokenResponse`.
    public static let parley = AccountAPISettings(
        defaultURL: "http://127.0.0.1:8085",
        signup: AccountRequest(
            path: "/auth/signup",
            body: #"{"loginId": {login|json}, "username": {username|json}, "password": {password|json}}"#),
        login: AccountRequest(path: "/auth/login", body: #"{"loginId": {login|json}, "password": {password|json}}"#),
        accessTokenField: "tokenResponse.accessToken",
        refreshTokenField: "tokenResponse.refreshToken")
}
