public import Domain
public import EventStore
import Foundation
public import PostgresNIO

/// The todo commands and queries of one user, on top of the event store.
public struct TodoService: Sendable {
    public let commands: CommandExecutor

    public init(commands: CommandExecutor) {
        self.commands = commands
    }

    var table: TodoTable { commands.todos }

    public func get(user: Int64, id: Int) async throws -> Todo? {
        try await commands.store.client.withConnection { try await table.load(user: user, ids: [id], on: $0)[id] }
    }

    public func create(user: Int64, _ new: NewTodo) async throws -> Todo {
        let table = self.table
        return try await commands.execute(user: user) { connection, _ in
            let id = try await table.users.lastTodoID(user: user, on: connection) + 1
            let events = TodoCommands.create(new, id: id, uid: UUID().uuidString.lowercased(), at: .now())
            guard case .todoCreated(let created) = events[0] else { preconditionFailure("create yields TodoCreated") }
            return (events, Todo(created: created))
        }
    }

    /// The updated todo, or nil when it does not exist.
    public func update(user: Int64, id: Int, _ patch: TodoPatch) async throws -> Todo? {
        let table = self.table
        return try await commands.execute(user: user) { connection, _ in
            guard var todo = try await table.load(user: user, ids: [id], on: connection)[id] else { return ([], nil) }
            let events = TodoCommands.update(todo, with: patch, at: .now())
            for event in events { todo.apply(event) }
            return (events, todo)
        }
    }

    /// The deleted todo, or nil when there was none (deleting is idempotent).
    public func delete(user: Int64, id: Int) async throws -> Todo? {
        let table = self.table
        return try await commands.execute(user: user) { connection, _ in
            let todo = try await table.load(user: user, ids: [id], on: connection)[id]
            return (TodoCommands.delete(todo, at: .now()), todo)
        }
    }

    public func complete(user: Int64, ids: [Int]) async throws -> BulkCompletion {
        let table = self.table
        return try await commands.execute(user: user) { connection, _ in
            let existing = try await table.load(user: user, ids: ids, on: connection)
            let outcome = TodoCommands.complete(ids: ids, existing: existing, at: .now())
            return (outcome.event.map { [$0] } ?? [], outcome)
        }
    }

    /// The user's todos in id order, streamed; naive deadlines in a window count in the user's zone.
    public func list(user: Int64, filter: TodoTable.Filter) async throws
        -> AsyncThrowingMapSequence<PostgresRowSequence, Todo>
    {
        let zone = filter.windowDays == nil ? "UTC" : try await table.users.timeZone(user: user)
        return try await table.list(user: user, filter: filter, timeZone: zone)
    }
}
