import Hummingbird

/// Answers 503 (with `Retry-After`) when producing a response takes longer than `limit`: while
/// the database is unreachable a request would otherwise wait for a pooled connection for as
/// long as the outage lasts. The handler runs in a child task that is cancelled at the deadline
/// (PostgresNIO's connection lease honours cancellation); the 503 is written by the request's
/// own task, which is never cancelled. A streamed body is not covered: it starts after.
struct RequestDeadline<Context: RequestContext>: RouterMiddleware {
    let limit: Duration

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let limit = self.limit
        let outcome: Response? = try await withoutActuallyEscaping(next) { next in
            // The child ends before this scope does (structured concurrency), so `next` does not escape.
            let handler = Handler(next: next)
            return try await withThrowingTaskGroup(of: Response?.self) { group in
                group.addTask { try await handler.next(request, context) }
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
        let next: (Request, Context) async throws -> Response
    }
}
