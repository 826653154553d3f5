import Hummingbird
import Logging
import NIOCore

/// Turns every error into the API's JSON error shape, so no route (including unknown ones) answers with
/// Hummingbird's plain-text errors.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return error.makeResponse()
        } catch is NIOTooManyBytesError {
            return APIError(.contentTooLarge, code: "payload_too_large", message: "request body is too large")
                .makeResponse()
        } catch let error as HTTPError {
            let code: String
            let message: String
            switch error.status {
            case .notFound:
                code = "not_found"
                message = "no route for \(request.method) \(request.uri.path)"
            case .methodNotAllowed:
                code = "method_not_allowed"
                message = "\(request.method) is not allowed on \(request.uri.path)"
            case .contentTooLarge:
                code = "payload_too_large"
                message = "request body is too large"
            default:
                code = error.status.code < 500 ? "bad_request" : "internal_error"
                message = error.body ?? error.status.reasonPhrase
            }
            return APIError(error.status, code: code, message: message, headers: error.headers).makeResponse()
        } catch {
            context.logger.error("account API request failed", metadata: ["error": "\(error)"])
            return APIError(.internalServerError, code: "internal_error", message: "internal server error")
                .makeResponse()
        }
    }
}
