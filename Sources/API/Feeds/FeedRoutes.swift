import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Projector

/// Subscription feeds (`/feeds/{token}.ics`, no API key: the token is the secret) and the
/// caller's feed URLs (`/api/v1/feed`).
struct FeedRoutes {
    let tokens: FeedTokens
    let cache: FeedCache
    let streamer: FeedStreamer
    let lookups: FeedLookups
    let publicURL: PublicURL
    /// How long an answer that needs the database may take before it is a 503 (`RequestDeadline`).
    let deadline: Duration

    /// Registers the subscription feed on `router`, and returns it as the router would run it
    /// (its middlewares so far around `serve`) for `FeedFirstRouter`.
    func registerPublic(on router: Router<AppRequestContext>) -> any HTTPResponder<AppRequestContext> {
        router.get(FeedPath.route, use: serve)
        router.head(FeedPath.route, use: serve)
        return router.middlewares.constructResponder(finalResponder: CallbackResponder(callback: serve))
    }

    func registerAuthenticated(on group: RouterGroup<AppRequestContext>) {
        group.get("feed", use: describe)
        group.post("feed/rotate", use: rotate)
    }

    @Sendable func describe(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        return .json(urls(token: try await tokens.current(user: user.id), request: request))
    }

    @Sendable func rotate(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        return .json(urls(token: try await tokens.rotate(user: user.id), request: request))
    }

    private func urls(token: String, request: Request) -> [UInt8] {
        let https = "\(publicURL.base(for: request))/feeds/\(token).ics"
        let webcal = "webcal://" + https.drop { $0 != ":" }.dropFirst(3)
        let google =
            "https://calendar.google.com/calendar/r?cid="
            + (webcal.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? webcal)
        var json = JSONWriter()
        json.beginObject()
        json.key("token_hint")
        json.string(String(token.prefix(8)) + "…")
        json.key("https")
        json.string(https)
        json.key("webcal")
        json.string(webcal)
        json.key("google")
        json.string(google)
        json.key("formats")
        json.beginObject()
        json.key("events")
        json.string(https)
        json.key("events_with_completed")
        json.string(https + "?completed=include")
        json.key("vtodo")
        json.string(https + "?format=vtodo")
        json.endObject()
        json.endObject()
        return json.bytes
    }

    /// A poll whose token and calendar head are in memory, answered 304, costs no task, timer or
    /// database round trip (calendar apps poll with If-None-Match far more often than feeds
    /// change); every other answer runs within the request deadline.
    @Sendable func serve(_ request: Request, context: AppRequestContext) async throws -> Response {
        let token = context.parameters.get("token") ?? ""
        let variant = try Self.variant(request)
        let gzip = FeedEncoding(accepting: request.headers) == .gzip
        if let user = lookups.user(token: token), let remembered = lookups.remembered(user: user) {
            let head = remembered.head
            let described = describe(head, user: user, variant: variant, gzip: gzip, remembered: remembered)
            if ConditionalRequest.isNotModified(request, etag: described.etag, lastModified: head.updatedAt) {
                FeedMetrics.answered(.notModified, encoding: described.encoding)
                return Response(status: .notModified, headers: described.headers)
            }
        }
        return try await RequestDeadlineRace.within(deadline) {
            try await answer(request, context: context, token: token, variant: variant, gzip: gzip)
        }
    }

    /// The ETag and the headers of a 304 for `head`: gzip when the client accepts it, except
    /// for calendars streamed past the cache. Conditions are evaluated against the tag of the
    /// representation that would be sent. Made once per row, variant and representation while
    /// `FeedLookups` remembers the row (building them was a third of the feed handler's work);
    /// `remembered` is that row as just looked up, when it was (no second look).
    private func describe(
        _ head: CalendarStore.Head,
        user: Int64,
        variant: FeedVariant,
        gzip: Bool,
        remembered: FeedLookups.RememberedHead? = nil
    ) -> FeedDescription {
        let encoding = gzip && !cache.isStreamed(user: user, head: head) ? FeedEncoding.gzip : .identity
        let known: FeedDescription?
        if let remembered {
            known = remembered.description(variant: variant, encoding: encoding)
        } else {
            known = lookups.description(of: head, variant: variant, encoding: encoding)
        }
        if let known { return known }
        let etag = etag(version: head.version, generation: head.generation, variant, encoding)
        var headers = HTTPFields()
        headers.reserveCapacity(4)
        headers.append(HTTPField(name: .eTag, value: etag))
        headers.append(HTTPField(name: .lastModified, value: HTTPDate.string(secondsSinceEpoch: head.updatedAt)))
        headers.append(HTTPField(name: .cacheControl, value: "private, max-age=60"))
        headers.append(HTTPField(name: .vary, value: "Accept-Encoding"))
        let described = FeedDescription(head: head, variant: variant, encoding: encoding, etag: etag, headers: headers)
        lookups.remember(described)
        return described
    }

    private func answer(
        _ request: Request,
        context: AppRequestContext,
        token: String,
        variant: FeedVariant,
        gzip: Bool
    ) async throws -> Response {
        let user: Int64
        if let known = lookups.user(token: token) {
            user = known
        } else {
            let epoch = lookups.begin()
            switch try await tokens.resolve(token) {
            case .unknown: throw APIError.notFound("feed")
            case .revoked: throw APIError(.gone, "this feed URL was rotated; ask its owner for the new one")
            case .active(let id):
                user = id
                if let epoch { lookups.remember(token: token, user: id, since: epoch) }
            }
        }
        do {
            let head: CalendarStore.Head
            if let known = lookups.head(user: user) {
                head = known
            } else {
                let epoch = lookups.begin()
                guard let fresh = try await cache.head(user: user) else { throw FeedCache.NotProjected() }
                if let epoch { lookups.remember(head: fresh, since: epoch) }
                head = fresh
            }
            // The representation: gzip from the cache's compressed blocks when the client accepts
            // it; identity otherwise, and for calendars streamed past the cache.
            let described = describe(head, user: user, variant: variant, gzip: gzip)
            var headers = described.headers
            if ConditionalRequest.isNotModified(request, etag: described.etag, lastModified: head.updatedAt) {
                FeedMetrics.answered(.notModified, encoding: described.encoding)
                return Response(status: .notModified, headers: headers)
            }
            headers[.contentType] = "text/calendar; charset=utf-8"
            do {
                let feed = try await cache.feed(user: user, variant: variant, head: head, encoding: described.encoding)
                // The body may be newer than `head`: describe what is sent.
                headers[.eTag] = etag(version: feed.version, generation: feed.generation, variant, feed.encoding)
                headers[.lastModified] = HTTPDate.string(secondsSinceEpoch: feed.updatedAt)
                if feed.encoding == .gzip { headers[.contentEncoding] = "gzip" }
                headers[.contentLength] = String(feed.length)
                FeedMetrics.answered(.ok, encoding: feed.encoding)
                if request.method == .head {
                    return Response(status: .ok, headers: headers, body: ResponseBody())
                }
                return Response(status: .ok, headers: headers, body: ResponseBody(contentsOf: feed.parts))
            } catch is FeedCache.TooLarge {
                // Streamed calendars are sent identity-encoded (compressing them on every request
                // would cost a core per poll): the tag says so.
                guard let opened = try await streamer.open(user: user, variant: variant) else {
                    throw FeedCache.NotProjected()
                }
                headers[.eTag] = etag(version: opened.version, generation: opened.generation, variant, .identity)
                headers[.lastModified] = HTTPDate.string(secondsSinceEpoch: opened.updatedAt)
                FeedMetrics.answered(.ok, encoding: .identity)
                if request.method == .head {
                    return Response(status: .ok, headers: headers, body: ResponseBody())
                }
                return Response(status: .ok, headers: headers, body: opened.body)
            }
        } catch is FeedCache.NotProjected {
            throw APIError(
                .serviceUnavailable,
                "the calendar is being prepared; retry shortly",
                headers: [.retryAfter: "1"]
            )
        } catch let error as APIError {
            throw error
        } catch {
            context.logger.error("feed could not be read", metadata: ["error": "\(String(reflecting: error))"])
            throw APIError(.serviceUnavailable, "the calendar cannot be read right now", headers: [.retryAfter: "5"])
        }
    }

    /// A strong tag per calendar state, variant and representation: `"v12.g1.events"`, and
    /// `"v12.g1.events-gz"` for the same bytes gzip-encoded (`-gz1` at gzip level 1: see
    /// `FeedCache.gzipTagSuffix`).
    func etag(version: Int64, generation: Int, _ variant: FeedVariant, _ encoding: FeedEncoding) -> String {
        let suffix = encoding == .gzip ? cache.gzipTagSuffix : ""
        return "\"v\(version).g\(generation).\(variant.rawValue)\(suffix)\""
    }

    static func variant(_ request: Request) throws(APIError) -> FeedVariant {
        let format = request.uri.queryParameters["format"].map(String.init)?.lowercased()
        let completed = request.uri.queryParameters["completed"].map(String.init)?.lowercased()
        switch (format, completed) {
        case (nil, nil), ("vevent"?, nil), (nil, "exclude"?), ("vevent"?, "exclude"?): return .events
        case (nil, "include"?), ("vevent"?, "include"?): return .eventsWithCompleted
        case ("vtodo"?, nil), ("vtodo"?, "include"?): return .tasks
        case ("vtodo"?, _): throw .badRequest("the vtodo feed always includes completed todos; drop completed=")
        case (let f?, _) where f != "vevent":
            throw .badRequest("format must be vevent or vtodo, got \(f.debugDescription)")
        default: throw .badRequest("completed must be include or exclude")
        }
    }
}

/// What a feed's answers for one calendar row, variant and representation carry: the strong tag
/// and the headers of a 304 (a 200 adds its own).
struct FeedDescription: Sendable {
    let head: CalendarStore.Head
    let variant: FeedVariant
    let encoding: FeedEncoding
    let etag: String
    let headers: HTTPFields
}
