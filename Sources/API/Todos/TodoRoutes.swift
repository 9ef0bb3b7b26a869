import Domain
import EventStore
import Hummingbird
import PostgresNIO

/// `/api/v1/todos`: the TaskOverflow todo contract.
struct TodoRoutes {
    let service: TodoService

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get("todos", use: list)
        group.post("todos", use: create)
        group.post("todos/complete", use: complete)
        group.get("todos/:id", use: get)
        group.put("todos/:id", use: update)
        group.delete("todos/:id", use: delete)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let filter = try TodoRequests.filter(
            completed: request.uri.queryParameters["completed"].map(String.init),
            window: request.uri.queryParameters["window"].map(String.init)
        )
        let tableFilter = TodoTable.Filter(completed: filter.completed, windowDays: filter.window)
        // The first page is read before the response starts, so its errors still become JSON
        // errors; each page is read whole and its connection released before it is written: a
        // list of 100,000 todos never sits in memory at once, and a slow reader holds no
        // database connection.
        let pages = try await service.pages(user: user.id, filter: tableFilter)
        let first = try await pages.page(after: 0)
        let body = ResponseBody { writer in
            var json = JSONWriter(capacity: 64 * 1024)
            json.beginArray()
            var page = first
            while true {
                for todo in page {
                    TodoJSON.write(todo, into: &json)
                    if json.bytes.count >= 60 * 1024 {
                        try await writer.write(ByteBuffer(bytes: json.bytes))
                        json.bytes.removeAll(keepingCapacity: true)
                    }
                }
                guard page.count == pages.size, let last = page.last else { break }
                page = try await pages.page(after: last.id)
            }
            json.endArray()
            try await writer.write(ByteBuffer(bytes: json.bytes))
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: body)
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try todoID(context)
        guard let todo = try await service.get(user: user.id, id: id) else { throw APIError.notFound("todo \(id)") }
        return .json(TodoJSON.bytes(todo))
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        var request = request
        let body = try await request.bodyBytes(context: context)
        let new = try TodoRequests.newTodo(body)
        let answer = Self.created
        let keyed = try IdempotencyKey.keyed(request, body: body, answer: answer)
        return IdempotencyKey.response(try await service.create(user: user.id, new, keyed: keyed), answer: answer)
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try todoID(context)
        var request = request
        let body = try await request.bodyBytes(context: context)
        let patch = try TodoRequests.patch(body)
        let answer = Self.updated(id)
        let keyed = try IdempotencyKey.keyed(request, body: body, answer: answer)
        return IdempotencyKey.response(
            try await service.update(user: user.id, id: id, patch, keyed: keyed),
            answer: answer
        )
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try todoID(context)
        let answer = Self.deleted
        let keyed = try IdempotencyKey.keyed(request, body: [], answer: answer)
        return IdempotencyKey.response(try await service.delete(user: user.id, id: id, keyed: keyed), answer: answer)
    }

    @Sendable func complete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        var request = request
        let body = try await request.bodyBytes(context: context)
        let ids = try TodoRequests.ids(body)
        let answer = Self.completed
        let keyed = try IdempotencyKey.keyed(request, body: body, answer: answer)
        return IdempotencyKey.response(
            try await service.complete(user: user.id, ids: ids, keyed: keyed),
            answer: answer
        )
    }

    // The answers of the writes, as status and body (what an idempotency key replays).

    static let created: @Sendable (Todo) -> IdempotencyTable.Answer = { todo in
        IdempotencyTable.Answer(status: 201, body: TodoJSON.bytes(todo))
    }

    static func updated(_ id: Int) -> @Sendable (Todo?) -> IdempotencyTable.Answer {
        { todo in
            guard let todo else {
                let error = APIError.notFound("todo \(id)")
                return IdempotencyTable.Answer(status: Int(error.status.code), body: APIError.body(error.message))
            }
            return IdempotencyTable.Answer(status: 200, body: TodoJSON.bytes(todo))
        }
    }

    static let deleted: @Sendable (Todo?) -> IdempotencyTable.Answer = { todo in
        IdempotencyTable.Answer(status: 200, body: todo.map(TodoJSON.bytes) ?? Array("{}".utf8))
    }

    static let completed: @Sendable (BulkCompletion) -> IdempotencyTable.Answer = { outcome in
        var json = JSONWriter()
        json.beginObject()
        json.key("completed")
        json.intArray(outcome.completed)
        json.key("already_completed")
        json.intArray(outcome.alreadyCompleted)
        json.key("not_found")
        json.intArray(outcome.notFound)
        json.endObject()
        return IdempotencyTable.Answer(status: 200, body: json.bytes)
    }

    private func todoID(_ context: AppRequestContext) throws(APIError) -> Int {
        let raw = context.parameters.get("id") ?? ""
        guard let id = Int(raw), id >= 1 else { throw APIError.notFound("todo \(raw)") }
        return id
    }
}
