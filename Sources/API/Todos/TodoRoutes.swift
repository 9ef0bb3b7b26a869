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
        let new = try TodoRequests.newTodo(try await request.bodyBytes(context: context))
        let todo = try await service.create(user: user.id, new)
        return .json(TodoJSON.bytes(todo), status: .created)
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try todoID(context)
        var request = request
        let patch = try TodoRequests.patch(try await request.bodyBytes(context: context))
        guard let todo = try await service.update(user: user.id, id: id, patch) else {
            throw APIError.notFound("todo \(id)")
        }
        return .json(TodoJSON.bytes(todo))
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try todoID(context)
        guard let todo = try await service.delete(user: user.id, id: id) else { return .json(Array("{}".utf8)) }
        return .json(TodoJSON.bytes(todo))
    }

    @Sendable func complete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        var request = request
        let ids = try TodoRequests.ids(try await request.bodyBytes(context: context))
        let outcome = try await service.complete(user: user.id, ids: ids)
        var json = JSONWriter()
        json.beginObject()
        json.key("completed")
        json.intArray(outcome.completed)
        json.key("already_completed")
        json.intArray(outcome.alreadyCompleted)
        json.key("not_found")
        json.intArray(outcome.notFound)
        json.endObject()
        return .json(json.bytes)
    }

    private func todoID(_ context: AppRequestContext) throws(APIError) -> Int {
        let raw = context.parameters.get("id") ?? ""
        guard let id = Int(raw), id >= 1 else { throw APIError.notFound("todo \(raw)") }
        return id
    }
}
