import Hummingbird

/// Answers 503 (with `Retry-After`) when producing a response takes longer than `limit`: while
/// the database is unreachable a request would otherwise wait for a pooled connection for as
/// long as the outage lasts. The handler runs in a child task that is cancelled at the deadline
/// (PostgresNIO's connection lease honours cancellation); the 503 is written by the request's
/// own task, which is never cancelled. A streamed body is not covered: it starts after.
///
/// The race costs two child tasks and a timer per request, so it is not a router-wide
/// middleware: it wraps the `api/v1` routes, and the subscription feed applies it itself, only
/// when it needs the database (a conditional poll answered from memory races nothing).
struct RequestDeadline<Context: RequestContext>: RouterMiddleware {
    let limit: Duration

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        try await RequestDeadlineRace.within(limit) { try await next(request, context) }
    }
}

enum RequestDeadlineRace {
    /// `body`'s response, or a 503 `APIError` when it takes longer than `limit` (`body` is cancelled).
    static func within(_ limit: Duration, _ body: () async throws -> Response) async throws -> Response {
        let outcome: Response? = try await withoutActuallyEscaping(body) { body in
            // The child ends before this scope does (structured concurrency), so `body` does not escape.
            let handler = Handler(body: body)
            return try await withThrowingTaskGroup(of: Response?.self) { group in
                group.addTask { try await handler.body() }
                group.addTask {
                    try await Task.sleep(for: limit)
                    return nil
                }
                defer { group.cancelAll() }
                do {
                    return try await group.next() ?? nil
                } catch is CancellationError where !Task.isCancelled {
                    return nil  // the timer won the race while the handler was ending
                }
            }
        }
        guard let outcome else {
            throw APIError(
                .serviceUnavailable,
                "the request could not be answered within \(limit) (is the database reachable?); retry shortly",
                headers: [.retryAfter: "2"]
            )
        }
        return outcome
    }

    struct Handler: @unchecked Sendable {
        let body: () async throws -> Response
    }
}
