import HTTPTypes
import Hummingbird

/// `--auth none` serves every request as the default user, so only this machine may talk to
/// it: a request whose `Host` is not a loopback name or address (DNS rebinding), or that carries
/// a foreign `Origin` (a web page the user visits), is refused with 403 before anything runs.
struct LoopbackGuard<Context: RequestContext>: RouterMiddleware {
    static var host: HTTPField.Name { HTTPField.Name("Host")! }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        // HTTP/1's Host header becomes the request's authority; every value given must name
        // this machine, and there must be one.
        let authorities = [request.head.authority, request.headers[Self.host]].compactMap { $0 }
        guard !authorities.isEmpty, authorities.allSatisfy(Loopback.isLoopback(authority:)) else {
            throw APIError(
                .forbidden,
                "this server runs without authentication (--auth none) and answers only requests addressed to localhost"
            )
        }
        if let origin = request.headers[.origin], !Loopback.isLoopback(origin: origin) {
            throw APIError(.forbidden, "cross-origin requests are refused when authentication is off (--auth none)")
        }
        return try await next(request, context)
    }
}
