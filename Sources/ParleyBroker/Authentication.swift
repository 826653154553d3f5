import NIOCore

/// The authenticated user behind a STOMP session.
public struct StompPrincipal: Sendable, Hashable {
    /// The account id; chat events carry it as `senderId`/`receiverId` and `/user/queue/...` is keyed by it.
    public var id: String
    /// The name reported in CONNECTED's `user-name` header; the id when the authenticator knows no name.
    public var name: String

    /// Creates a principal; `name` defaults to `id`.
    public init(id: String, name: String? = nil) {
        self.id = id
        self.name = name ?? id
    }
}

/// Why a CONNECT's token was refused. `message` goes verbatim into the ERROR frame, so it must be client safe.
public struct StompAuthenticationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A short, client-safe reason (no internals, no stack traces).
    public var message: String
    /// Creates an error with a client-safe reason.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }

    /// No token in `Authorization: Bearer …` or `passcode`.
    public static let missingToken = StompAuthenticationError(
        "missing access token: send 'Authorization: Bearer <token>' (or the token as passcode) in CONNECT")
    /// A token the authenticator could not verify, when it gave no better reason.
    public static let invalidToken = StompAuthenticationError("invalid access token")
}

/// Turns the access token of a CONNECT frame into a principal.
///
/// The broker calls it once per CONNECT, off the event loop, so implementations may be `async`.
/// Throw ``StompAuthenticationError`` to choose the ERROR message; any other error is reported as
/// ``StompAuthenticationError/invalidToken`` so that internals never reach a client.
public protocol StompAuthenticator: Sendable {
    /// Verifies `token` (the raw JWT, without `Bearer `) and returns whom it authenticates.
    func authenticate(token: String) async throws -> StompPrincipal
    /// A synchronous answer when verification needs no suspension (e.g. HMAC with a key in memory), so the
    /// session skips a task hop; `nil` (the default) means "use ``authenticate(token:)``".
    func authenticateImmediately(token: String) -> Result<StompPrincipal, any Error>?
}

extension StompAuthenticator {
    /// No synchronous path by default.
    public func authenticateImmediately(token: String) -> Result<StompPrincipal, any Error>? { nil }
}

/// An authenticator backed by a synchronous closure (e.g. an in-memory HMAC verifier).
public struct ClosureAuthenticator: StompAuthenticator {
    private let verify: @Sendable (String) throws -> StompPrincipal
    /// Creates an authenticator that calls `verify` for every token.
    public init(_ verify: @escaping @Sendable (String) throws -> StompPrincipal) { self.verify = verify }
    /// Calls the closure.
    public func authenticate(token: String) async throws -> StompPrincipal { try verify(token) }
    /// Calls the closure on the event loop: it never suspends.
    public func authenticateImmediately(token: String) -> Result<StompPrincipal, any Error>? {
        Result { try verify(token) }
    }
}

extension StompAuthenticator {
    /// Verifies `token` and calls `completion` on `loop`: inline when the authenticator answers synchronously,
    /// else once its `async` verification is done.
    func verify(_ token: String, on loop: any EventLoop, _ completion: @escaping (Result<StompPrincipal, any Error>) -> Void) {
        if let immediate = authenticateImmediately(token: token) {
            completion(immediate)
            return
        }
        let callback = NIOLoopBound(completion, eventLoop: loop)
        Task {
            let result: Result<StompPrincipal, any Error>
            do {
                result = .success(try await authenticate(token: token))
            } catch {
                result = .failure(error)
            }
            loop.execute { callback.value(result) }
        }
    }
}
