import EventStore
import Foundation
import Hummingbird
import NIOCore
import Projector

/// `/api/v1/todos/ical`: calendar jobs.
struct JobRoutes {
    let queue: JobQueue
    let cache: FeedCache
    /// Serves the results of calendars the cache does not admit.
    let streamer: FeedStreamer
    let publicURL: PublicURL

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post("todos/ical", use: submit)
        group.get("todos/ical/{task_id}/status", use: status)
        group.get("todos/ical/{task_id}/result", use: result)
    }

    @Sendable func submit(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let kind: JobQueue.Kind
        switch request.uri.queryParameters["mode"].map(String.init) {
        case nil, "projection"?, "incremental"?: kind = .projection
        case "full"?: kind = .full
        case let other?: throw APIError.badRequest("mode must be full or omitted, got \(other.debugDescription)")
        }
        let job = try await queue.submit(user: user.id, kind: kind)
        var json = JSONWriter()
        json.beginObject()
        json.key("task_id")
        json.string(job.id.uuidString.lowercased())
        json.key("task_url")
        json.string("\(publicURL.base(for: request))/api/v1/todos/ical/\(job.id.uuidString.lowercased())/status")
        json.endObject()
        return .json(json.bytes, status: .accepted)
    }

    @Sendable func status(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let job = try await find(context, user: user)
        let id = job.id.uuidString.lowercased()
        var json = JSONWriter()
        json.beginObject()
        json.key("task_id")
        json.string(id)
        json.key("task_status")
        json.string(job.status)
        json.key("result_url")
        json.string("\(publicURL.base(for: request))/api/v1/todos/ical/\(id)/result")
        json.key("mode")
        json.string(job.kind.rawValue)
        json.key("target_version")
        json.int(Int(job.targetVersion))
        if let duration = job.durationMilliseconds {
            json.key("duration_ms")
            json.raw(Array(String(format: "%.3f", duration).utf8))
        }
        if let matches = job.matchesIncremental {
            json.key("matches_incremental")
            json.bool(matches)
        }
        if job.status == "FAILURE", let error = job.error {
            json.key("error")
            json.string(error)
        }
        json.endObject()
        return .json(json.bytes)
    }

    @Sendable func result(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let job = try await find(context, user: user)
        guard job.status == "SUCCESS" else { throw APIError(.notFound, "Task not finished") }
        let body: ByteBuffer
        switch job.kind {
        case .full:
            guard let stored = try await queue.result(job.id, user: user.id) else {
                throw APIError(.notFound, "Task not finished")
            }
            body = stored
        case .projection:
            guard let head = try await cache.head(user: user.id) else { throw APIError(.notFound, "Task not finished") }
            do {
                body = try await cache.feed(user: user.id, variant: .events, head: head).joined
            } catch is FeedCache.TooLarge {
                guard let opened = try await streamer.open(user: user.id, variant: .events) else {
                    throw APIError(.notFound, "Task not finished")
                }
                return Response(
                    status: .ok,
                    headers: [.contentType: "text/calendar; charset=utf-8"],
                    body: opened.body
                )
            }
        }
        return Response(
            status: .ok,
            headers: [.contentType: "text/calendar; charset=utf-8"],
            body: .init(byteBuffer: body)
        )
    }

    private func find(_ context: AppRequestContext, user: AuthenticatedUser) async throws -> JobQueue.Job {
        let raw = context.parameters.get("task_id") ?? ""
        guard let id = UUID(uuidString: raw), let job = try await queue.job(id, user: user.id) else {
            throw APIError.notFound("task \(raw)")
        }
        return job
    }
}
