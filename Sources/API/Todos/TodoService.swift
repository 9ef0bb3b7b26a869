public import Domain
public import EventStore
import Foundation
import PostgresNIO

/// The todo commands and queries of one user, on top of the event store.
public struct TodoService: Sendable {
    public typealias Keyed = CommandExecutor.Keyed
    public typealias Executed = CommandExecutor.Executed

    public let commands: CommandExecutor

    public init(commands: CommandExecutor) {
        self.commands = commands
    }

    var table: TodoTable { commands.todos }

    public func get(user: Int64, id: Int) async throws -> Todo? {
        try await commands.store.client.leased { try await table.load(user: user, ids: [id], on: $0)[id] }
    }

    public func create(user: Int64, _ new: NewTodo, keyed: Keyed<Todo>? = nil) async throws -> Executed<Todo> {
        let table = self.table
        return try await commands.execute(user: user, keyed: keyed) { connection, _, _ in
            let id = try await table.users.lastTodoID(user: user, on: connection) + 1
            let events = TodoCommands.create(new, id: id, uid: UUID().uuidString.lowercased(), at: .now())
            guard case .todoCreated(let created) = events[0] else { preconditionFailure("create yields TodoCreated") }
            return (events, Todo(created: created))
        }
    }

    /// The updated todo, or nil when it does not exist.
    public func update(user: Int64, id: Int, _ patch: TodoPatch, keyed: Keyed<Todo?>? = nil) async throws
        -> Executed<Todo?>
    {
        let table = self.table
        return try await commands.execute(user: user, keyed: keyed) { connection, _, read in
            guard var todo = try await table.load(user: user, ids: [id], into: &read, on: connection)[id] else {
                return ([], nil)
            }
            let events = TodoCommands.update(todo, with: patch, at: .now())
            for event in events { todo.apply(event) }
            return (events, todo)
        }
    }

    /// The deleted todo, or nil when there was none (deleting is idempotent).
    public func delete(user: Int64, id: Int, keyed: Keyed<Todo?>? = nil) async throws -> Executed<Todo?> {
        let table = self.table
        return try await commands.execute(user: user, keyed: keyed) { connection, _, read in
            let todo = try await table.load(user: user, ids: [id], into: &read, on: connection)[id]
            return (TodoCommands.delete(todo, at: .now()), todo)
        }
    }

    public func complete(user: Int64, ids: [Int], keyed: Keyed<BulkCompletion>? = nil) async throws
        -> Executed<BulkCompletion>
    {
        let table = self.table
        let small = ids.count <= CommandExecutor.loopBoundTodos
        return try await commands.execute(user: user, keyed: keyed, onConnectionLoop: small) { connection, _, read in
            let existing = try await table.load(user: user, ids: ids, into: &read, on: connection)
            let outcome = TodoCommands.complete(ids: ids, existing: existing, at: .now())
            return (outcome.event.map { [$0] } ?? [], outcome)
        }
    }

    /// The user's todos in id order, a page at a time (see `TodoTable.page`); the time zone is
    /// read once. `page(after)` gives the todos after an id.
    public func pages(user: Int64, filter: TodoTable.Filter) async throws -> TodoPages {
        let zone = filter.windowDays == nil ? "UTC" : try await table.users.timeZone(user: user)
        return TodoPages(table: table, user: user, filter: filter, timeZone: zone)
    }
}

/// Reads a user's todo list page by page.
public struct TodoPages: Sendable {
    let table: TodoTable
    let user: Int64
    let filter: TodoTable.Filter
    let timeZone: String
    /// Todos per page.
    public var size = 250

    /// The todos after `id` (the first page after 0); fewer than `size` means the last.
    public func page(after id: Int) async throws -> [Todo] {
        try await table.page(user: user, filter: filter, timeZone: timeZone, after: id, limit: size)
    }
}
