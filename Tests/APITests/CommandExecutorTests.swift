import API
import AlmanacTestSupport
import Domain
import EventStore
import Foundation
import HTTPTypes
import NIOCore
import PostgresNIO
import Synchronization
import Testing

@Suite("Command retries")
struct CommandExecutorTests {
    static func timeZone(_ zone: String) -> [TodoEvent] {
        [.timeZoneChanged(TimeZoneChanged(timeZone: zone, at: Timestamp(microseconds: 1)))]
    }

    /// A command's transaction runs on its connection's event loop unless told otherwise (a bulk
    /// completion of more than `CommandExecutor.loopBoundTodos` todos).
    @Test func commandsRunOnTheirConnectionsLoopUnlessLarge() async throws {
        try await TestDatabase.withStore { store in
            let services = AlmanacServices(store: store)
            let onLoop = try await services.commands.execute(user: 4343) { connection, _ in
                (Self.timeZone("Asia/Tokyo"), connection.eventLoop.inEventLoop)
            }
            #expect(onLoop)
            let offLoop = try await services.commands.execute(user: 4343, onConnectionLoop: false) { connection, _ in
                (Self.timeZone("Europe/Paris"), connection.eventLoop.inEventLoop)
            }
            #expect(!offLoop)
            #expect(try await store.readStream(4343).map(\.version) == [1, 2])
        }
    }

    /// The inline projection starts from the todos the command read in its transaction instead of
    /// reading them again (an edit or a completion read its todos twice: one round trip of the
    /// write's latency). Shown by a row changed behind the command's back after it was read: the
    /// projection keeps what the command read; with nothing read it reads the row as it is.
    @Test func theInlineProjectionStartsFromWhatTheCommandRead() async throws {
        try await TestDatabase.withStore { store in
            let services = AlmanacServices(store: store)
            let user = try await services.users.create(name: "reader").user.id
            let created = try await services.todos.create(user: user, try NewTodo(title: "as read")).done!
            let table = services.commands.todos
            let complete: [TodoEvent] = [.todoCompleted(TodoChange(todoID: created.id, at: Timestamp(microseconds: 5)))]
            let tamper: PostgresQuery = "UPDATE todos SET title = 'changed' WHERE user_id = \(user)"
            try await services.commands.execute(user: user) { connection, _, read in
                _ = try await table.load(user: user, ids: [created.id], into: &read, on: connection)
                try await connection.run(tamper, logger: store.logger)
                return (complete, ())
            }
            let kept = try #require(try await services.todos.get(user: user, id: created.id))
            #expect(kept.title == "as read")
            #expect(kept.completed)
            // Without reading it first, the projection reads the row.
            let reopen: [TodoEvent] = [.todoReopened(TodoChange(todoID: created.id, at: Timestamp(microseconds: 6)))]
            try await services.commands.execute(user: user) { connection, _ in
                try await connection.run(tamper, logger: store.logger)
                return (reopen, ())
            }
            let reread = try #require(try await services.todos.get(user: user, id: created.id))
            #expect(reread.title == "changed")
            #expect(!reread.completed)
        }
    }

    /// Two first commands on a stream race for version 1: the loser's append conflicts and is
    /// retried on the new version; with no retries left it is a 409.
    @Test func conflictingCommandsAreRetriedThen409() async throws {
        try await TestDatabase.withStore { store in
            let services = AlmanacServices(store: store)
            let gate = AsyncStream<Void>.makeStream()
            let decided = AsyncStream<Void>.makeStream()
            // The first attempt of `slow` decides at version 0, then waits until `fast` committed.
            let attempts = Counter()
            async let slow: Void = services.commands.execute(user: 4242) { _, version in
                if attempts.increment() == 1 {
                    decided.continuation.yield()
                    var iterator = gate.stream.makeAsyncIterator()
                    _ = await iterator.next()
                }
                return (Self.timeZone("Asia/Tokyo"), ())
            }
            var decisions = decided.stream.makeAsyncIterator()
            _ = await decisions.next()
            try await services.commands.execute(user: 4242) { _, _ in (Self.timeZone("Europe/Paris"), ()) }
            gate.continuation.yield()
            try await slow
            #expect(attempts.value == 2, "the conflicting command ran again")
            #expect(try await store.readStream(4242).map(\.version) == [1, 2])

            var impatient = services.commands
            impatient.maxAttempts = 1
            let second = AsyncStream<Void>.makeStream()
            let waiting = AsyncStream<Void>.makeStream()
            let tries = Counter()
            async let losing: Void = impatient.execute(user: 4343) { _, _ in
                if tries.increment() == 1 {
                    waiting.continuation.yield()
                    var iterator = second.stream.makeAsyncIterator()
                    _ = await iterator.next()
                }
                return (Self.timeZone("Asia/Tokyo"), ())
            }
            var waits = waiting.stream.makeAsyncIterator()
            _ = await waits.next()
            try await services.commands.execute(user: 4343) { _, _ in (Self.timeZone("Europe/Paris"), ()) }
            second.continuation.yield()
            do {
                try await losing
                Issue.record("expected a version conflict (409 at the HTTP edge)")
            } catch is VersionConflict {}
            #expect(try await store.readStream(4343).count == 1)
        }
    }
}

/// A thread-safe counter for the closures above.
final class Counter: Sendable {
    private let storage = Mutex(0)
    func increment() -> Int {
        storage.withLock {
            $0 += 1; return $0
        }
    }
    var value: Int { storage.withLock { $0 } }
}
