public import Hummingbird

/// The request context of every Almanac route: the authenticated user, once auth has run.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var user: AuthenticatedUser? {
        didSet { requestRecord?.userID = user?.id }
    }
    /// Where the request's log line learns the user (set by `RequestLog`).
    var requestRecord: RequestRecord?

    public init(source: Source) {
        coreContext = .init(source: source)
        user = nil
        requestRecord = nil
    }

    public var maxUploadSize: Int { RequestLimits.bodyBytes }

    /// The caller; routes behind `AuthMiddleware` can rely on it.
    func requireUser() throws(APIError) -> AuthenticatedUser {
        guard let user else { throw APIError(.unauthorized, "missing or invalid API key") }
        return user
    }
}

/// A user as seen by the API.
public struct AuthenticatedUser: Sendable, Hashable {
    public var id: Int64
    public var name: String

    public init(id: Int64, name: String) {
        self.id = id
        self.name = name
    }
}
