import Domain
import EventStore
import Foundation
public import Hummingbird
import Logging

/// An error a client caused (or a service state it should know about), rendered as
/// `{"error": "<message>"}` with its status.
public struct APIError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var message: String
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(
            status: status,
            headers: headers,
            body: .init(byteBuffer: ByteBuffer(bytes: Self.body(message)))
        )
    }

    /// `{"error": message}` as bytes.
    static func body(_ message: String) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.key("error")
        json.string(message)
        json.endObject()
        return json.bytes
    }

    static func notFound(_ what: String) -> APIError { APIError(.notFound, "\(what) not found") }
    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, message) }

    /// The one mapping from the typed errors of the layers below (domain, storage) to HTTP;
    /// nil for an error nobody expected (answered 500 and logged).
    static func mapping(_ error: any Error) -> APIError? {
        switch error {
        case let error as APIError: error
        case let error as ValidationError: .badRequest(error.message)
        case let error as UserTable.NameTaken: APIError(.conflict, error.description)
        case is VersionConflict: APIError(.conflict, "the todo list changed concurrently; retry the request")
        case let error as IdempotencyTable.KeyReused: APIError(.unprocessableContent, error.description)
        case let error as JobTable.TooManyInFlight:
            APIError(.tooManyRequests, error.description, headers: [.retryAfter: "5"])
        case _ where DatabaseOutage.isOutage(error):
            APIError(
                .serviceUnavailable,
                "the database is unavailable; retry shortly",
                headers: [.retryAfter: "2"]
            )
        default: nil
        }
    }
}

/// Turns every error into a JSON error response; anything unexpected is logged and answered 500.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let message: String
            switch error.status {
            case .notFound: message = "no route for \(request.method) \(request.uri.path)"
            case .contentTooLarge: message = "request body is larger than \(RequestLimits.bodyBytes) bytes"
            case .methodNotAllowed: message = "method \(request.method) is not allowed on \(request.uri.path)"
            default: message = error.body ?? error.status.reasonPhrase
            }
            return try APIError(error.status, message, headers: error.headers).response(from: request, context: context)
        } catch {
            if let mapped = APIError.mapping(error) { return try mapped.response(from: request, context: context) }
            context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            return try APIError(.internalServerError, "internal error").response(from: request, context: context)
        }
    }
}

/// Limits on what a request may carry.
public enum RequestLimits {
    /// Largest accepted request body (1 MiB); larger ones get 413.
    public static let bodyBytes = 1 << 20
}
