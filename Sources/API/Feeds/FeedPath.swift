public import Hummingbird

/// The router with one route taken ahead of it: `GET` and `HEAD /feeds/{token}.ics`, the path
/// calendar apps poll.
///
/// Hummingbird's router splits every request path into components and matches them against its
/// trie character by character (grapheme clusters, not octets), and matches a component with a
/// suffix such as `{token}.ics` through `String.hasSuffix`: `perf` put that at 6 % of the
/// server's time in a run of conditional polls, as much as the feed handler itself. A path that
/// is exactly `/feeds/<token>.ics` in printable ASCII is recognised here over its octets and
/// handed to the same endpoint (the router's middlewares around the same handler), with the
/// parameter and endpoint path the router would have set. Any other path, including every
/// other spelling the router would also accept, goes to the router, which decides as before.
public struct FeedFirstRouter: HTTPResponderBuilder {
    /// Everything else, and what documents the routes (`router.routes`).
    public let router: Router<AppRequestContext>
    let feed: any HTTPResponder<AppRequestContext>

    init(router: Router<AppRequestContext>, feed: any HTTPResponder<AppRequestContext>) {
        self.router = router
        self.feed = feed
    }

    public func buildResponder() -> Responder {
        Responder(router: router.buildResponder(), feed: feed)
    }

    public struct Responder: HTTPResponder {
        let router: RouterResponder<AppRequestContext>
        let feed: any HTTPResponder<AppRequestContext>

        public func respond(to request: Request, context: AppRequestContext) async throws -> Response {
            guard request.method == .get || request.method == .head, let token = FeedPath.token(in: request.uri.path)
            else {
                return try await router.respond(to: request, context: context)
            }
            var context = context
            // Appended, not written as a dictionary literal: that went through Hummingbird's
            // generic variadic initialiser (2.3 % of the 304s' samples in perf).
            var parameters = Parameters()
            parameters.append(key: FeedPath.parameter, value: token)
            context.coreContext.parameters = parameters
            context.coreContext.endpointPath.value = FeedPath.endpoint
            do {
                return try await feed.respond(to: request, context: context)
            } catch let error as any HTTPResponseError {
                // As the router answers an error its middlewares let through.
                return try error.response(from: request, context: context)
            }
        }
    }
}

/// The subscription feed's route, `/feeds/{token}.ics`.
enum FeedPath {
    static let route: RouterPath = "feeds/{token}.ics"
    static let parameter: Substring = "token"
    /// The endpoint path the router records for the route (metrics, request logs, spans).
    static let endpoint = route.description

    private static let prefix = Array("/feeds/".utf8)
    private static let suffix = Array(".ics".utf8)

    /// The token of `path` when it is exactly `/feeds/<token>.ics`, the token printable ASCII
    /// without `/` (possibly empty, as the router would match it); nil for any other path.
    static func token(in path: String) -> Substring? {
        let utf8 = path.utf8
        guard utf8.count >= prefix.count + suffix.count, utf8.starts(with: prefix),
            utf8.reversed().starts(with: suffix.reversed())
        else { return nil }
        let start = utf8.index(utf8.startIndex, offsetBy: prefix.count)
        let end = utf8.index(utf8.endIndex, offsetBy: -suffix.count)
        guard utf8[start..<end].allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") }) else { return nil }
        return Substring(utf8[start..<end])
    }
}
