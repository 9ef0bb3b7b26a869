import Hummingbird

/// How requests are authenticated.
public enum AuthMode: String, Sendable, CaseIterable {
    /// `Authorization: Bearer <api key>` on every user route.
    case apiKey = "api-key"
    /// Single-user: every request acts as the built-in user `default` (loopback only).
    case none
}

/// Resolves the caller from the API key (or the default user) and rejects the rest with 401.
struct AuthMiddleware: RouterMiddleware {
    let mode: AuthMode
    let users: UserDirectory
    let defaultUser: AuthenticatedUser?

    func handle(
        _ request: Request,
        context: AppRequestContext,
        next: (Request, AppRequestContext) async throws -> Response
    )
        async throws -> Response
    {
        var context = context
        switch mode {
        case .none:
            context.user = defaultUser
        case .apiKey:
            guard let key = request.bearerToken else {
                throw APIError(
                    .unauthorized,
                    "missing API key: send Authorization: Bearer <key>",
                    headers: [.wwwAuthenticate: "Bearer"]
                )
            }
            guard let user = try await users.authenticate(apiKey: key) else {
                throw APIError(.unauthorized, "invalid API key", headers: [.wwwAuthenticate: "Bearer"])
            }
            context.user = user
        }
        return try await next(request, context)
    }
}
