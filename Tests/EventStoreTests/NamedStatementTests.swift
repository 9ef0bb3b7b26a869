import AlmanacTestSupport
import Domain
import Foundation
import Logging
import NIOCore
import PostgresNIO
import Testing

@testable import EventStore

/// The write path's statements as named prepared statements (`PostgresConnection.run(_:as:prepared:logger:)`).
@Suite("Named statements")
struct NamedStatementTests {
    static let writeNames: Set<String> = [LockStreamHead.name, AppendEvents.name]
    static let todoNames: Set<String> = [LastTodoID.name, RaiseLastTodoID.name, LoadTodos.name, UpsertTodos.name]

    /// The names prepared on the pool's only connection.
    static func preparedNames(_ store: EventStore) async throws -> Set<String> {
        var names = Set<String>()
        let rows = try await store.client.run("SELECT name FROM pg_prepared_statements", logger: store.logger)
        for try await name in rows.decode(String.self) { names.insert(name) }
        return names
    }

    /// A command's statements as it sends them: locked head, append.
    static func command(_ store: EventStore, stream: Int64) async throws {
        try await store.withTransaction { connection in
            let version = try await store.version(of: stream, on: connection, lock: true)
            _ = try await store.append(
                stream: stream,
                expectedVersion: version,
                events: EventStoreTests.events(1),
                on: connection
            )
        }
    }

    @Test func theWriteStatementsArePreparedOnTheirConnectionAndReused() async throws {
        try await TestDatabase.withStore(poolSize: 1) { store in
            for _ in 0..<3 { try await Self.command(store, stream: 5) }
            #expect(try await store.version(of: 5) == 3)
            #expect(try await Self.preparedNames(store).isSuperset(of: Self.writeNames))
            // Parsed once, executed three times (each execution is planned custom or generic).
            let rows = try await store.client.run(
                "SELECT (custom_plans + generic_plans)::int8 FROM pg_prepared_statements WHERE name = \(AppendEvents.name)",
                logger: store.logger
            )
            var executions: [Int64] = []
            for try await count in rows.decode(Int64.self) { executions.append(count) }
            #expect(executions == [3])
        }
    }

    @Test func withoutPreparedStatementsNothingIsPrepared() async throws {
        try await TestDatabase.withStore(poolSize: 1) { prepared in
            let store = EventStore(client: prepared.client, logger: prepared.logger, preparedStatements: false)
            for _ in 0..<3 { try await Self.command(store, stream: 5) }
            #expect(try await store.version(of: 5) == 3)
            _ = try await store.readAll(after: .start, limit: 10)
            #expect(try await Self.preparedNames(store).isEmpty)
        }
    }

    /// The inline projection's statements (a create, an edit's read, the last todo id) follow the setting too.
    @Test(arguments: [true, false])
    func theTodoTablesStatementsFollowTheSetting(prepared: Bool) async throws {
        try await TestDatabase.withStore(poolSize: 1) { store in
            let todos = TodoTable(client: store.client, logger: store.logger, preparedStatements: prepared)
            let events = CommandScript.events([0, 1, 2, 3, 5, 7])
            let (user, last) = try await store.withTransaction { connection in
                let user = try await todos.users.insert(
                    name: "named",
                    apiKeyHash: ByteBuffer(bytes: [1, 2, 3]),
                    on: connection
                )
                try await todos.apply(events, user: user, on: connection)
                return (user, try await todos.users.lastTodoID(user: user, on: connection))
            }
            #expect(last == 3)
            let loaded = try await store.withTransaction { try await todos.load(user: user, ids: [1, 2, 3], on: $0) }
            #expect(loaded.keys.sorted() == [1, 2, 3])
            let names = try await Self.preparedNames(store)
            if prepared {
                #expect(names.isSuperset(of: Self.todoNames), "missing: \(Self.todoNames.subtracting(names))")
            } else {
                #expect(names.isEmpty, "prepared: \(names)")
            }
        }
    }

    /// A named statement's parameter types are those of its first execution on a connection: the
    /// trace context binds as text whether or not there is one, so an append with one after an
    /// append without (and the other way round, each order on a fresh connection) stores it as sent.
    @Test(arguments: [false, true])
    func aTraceContextIsStoredWhateverTheFirstAppendOnTheConnectionCarried(traceFirst: Bool) async throws {
        let trace = #"{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}"#
        let traces = traceFirst ? [trace, ""] : ["", trace]
        try await TestDatabase.withStore(poolSize: 1) { store in
            try await store.client.run("INSERT INTO streams (stream_id, version) VALUES (1, 0)", logger: store.logger)
            for (index, trace) in traces.enumerated() {
                try await store.withTransaction { connection in
                    let version = Int64(index)
                    let rows = try await connection.run(
                        AppendEvents.query(
                            stream: 1,
                            expectedVersion: version,
                            newVersion: version + 1,
                            versions: [version + 1],
                            ids: [UUID()],
                            types: ["Test"],
                            payloads: ["{}"],
                            trace: trace
                        ),
                        as: AppendEvents.self,
                        prepared: true,
                        logger: store.logger
                    )
                    for try await _ in rows {}
                }
            }
            let rows = try await store.client.run(
                "SELECT coalesce(trace_context::text, '') FROM events WHERE stream_id = 1 ORDER BY version",
                logger: store.logger
            )
            var stored: [String] = []
            for try await text in rows.decode(String.self) { stored.append(text) }
            #expect(stored == traces)
        }
    }

    /// PostgresNIO keeps a failed preparation's error for the name on that connection and fails
    /// every later execution with it: the connection whose first execution failed is closed, so
    /// the pool's next one prepares the statement afresh.
    @Test func aFailedPreparationDoesNotBreakTheStatementForLaterCommands() async throws {
        try await TestDatabase.withStore(poolSize: 1) { store in
            let error = await #expect(throws: PSQLError.self) {
                try await store.withTransaction { connection in
                    // An aborted transaction: PostgreSQL refuses to parse anything in it.
                    _ = try? await connection.run("SELECT 1 / 0", logger: store.logger)
                    _ = try await store.version(of: 1, on: connection, lock: true)
                }
            }
            #expect(error?.sqlState == "25P02")
            try await Self.command(store, stream: 1)
            try await Self.command(store, stream: 1)
            #expect(try await store.version(of: 1) == 2)
        }
    }

    /// A caller cancelled while its named statement is being prepared stops waiting, and the
    /// connection goes back to the pool with the statement in flight (PostgresNIO runs it to its
    /// end): when that preparation then fails, the connection is closed all the same, so the
    /// name is not failed on it for every later caller. Here a log read (outside a transaction)
    /// is parsed while another session locks the log's table, its caller is cancelled, and the
    /// parse fails on the connection's lock timeout.
    @Test(.timeLimit(.minutes(2)))
    func aPreparationThatFailsAfterItsCallerWasCancelledDoesNotBreakTheStatement() async throws {
        let url = try await TestDatabase.create()
        let logger = TestDatabase.logger
        try await TestDatabase.withClient(url: url, poolSize: 1) { client in
            let store = EventStore(client: client, logger: logger, preparedStatements: true)
            // The pool's only connection: its session's lock timeout ends the parse below (5 s: the
            // caller is cancelled first even on a loaded machine).
            try await client.run("SET lock_timeout = '5s'", logger: logger)
            var backend: Int32 = 0
            for try await pid in try await client.run("SELECT pg_backend_pid()", logger: logger).decode(Int32.self) {
                backend = pid
            }
            try await TestDatabase.withClient(url: url, poolSize: 1) { other in
                try await other.withConnection { locker in
                    try await locker.run("BEGIN", logger: logger)
                    try await locker.run("LOCK TABLE events IN ACCESS EXCLUSIVE MODE", logger: logger)
                    let reader = Task { try await store.readAll(after: .start, limit: 10) }
                    try await poll("the log read waits for the lock while parsing") {
                        try await Self.lockWaiters(on: locker, logger: logger) == 1
                    }
                    reader.cancel()
                    await #expect(throws: CancellationError.self) { try await reader.value }
                    // The parse fails on the lock timeout, after its caller has gone, and its
                    // connection is closed: its server process ends.
                    try await poll("the connection of the failed preparation is closed", limit: .seconds(20)) {
                        // The list of server processes is read once per transaction unless cleared.
                        try await locker.run("SELECT pg_stat_clear_snapshot()", logger: logger)
                        let rows = try await locker.run(
                            "SELECT count(*) FROM pg_stat_activity WHERE pid = \(backend)",
                            logger: logger
                        )
                        for try await count in rows.decode(Int64.self) { return count == 0 }
                        return false
                    }
                    try await locker.run("ROLLBACK", logger: logger)
                }
            }
            // The next read gets a connection on which the name is not failed.
            try await poll("the pool has a connection again", limit: .seconds(20)) {
                do {
                    #expect(try await store.readAll(after: .start, limit: 10).isEmpty)
                    return true
                } catch let error as PSQLError where error.sqlState == "55P03" {
                    Issue.record("the failed preparation was kept for the name: \(String(reflecting: error))")
                    return true
                } catch {
                    return false  // the closed connection, until the pool replaces it
                }
            }
        }
    }

    /// Sessions of this database waiting for a lock (other tests run beside this one in the cluster).
    static func lockWaiters(on connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        let rows = try await connection.run(
            """
            SELECT count(*) FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'
            """,
            logger: logger
        )
        for try await count in rows.decode(Int64.self) { return count }
        return 0
    }

    /// An integrity error (which only an execution raises) on a name's first execution leaves the
    /// connection open: only errors a preparation may have raised cost the pool a connection.
    @Test func anIntegrityErrorOnTheFirstExecutionKeepsTheConnection() async throws {
        try await TestDatabase.withStore(poolSize: 1) { store in
            func backend() async throws -> Int32 {
                for try await pid in try await store.client.run("SELECT pg_backend_pid()", logger: store.logger)
                    .decode(Int32.self)
                {
                    return pid
                }
                return 0
            }
            let before = try await backend()
            let error = await #expect(throws: PSQLError.self) {
                try await store.withTransaction { connection in
                    // No such user: a foreign key violation.
                    try await connection.run(
                        UpsertTodos.query([Self.todo], user: 424_242),
                        as: UpsertTodos.self,
                        prepared: true,
                        logger: store.logger
                    )
                }
            }
            #expect(error?.sqlState == "23503")
            #expect(try await backend() == before)
        }
        #expect(!PostgresConnection.invalidatesNamedStatement(CancellationError(), firstExecution: true))
        #expect(!PostgresConnection.invalidatesNamedStatement(ConnectionLost(), firstExecution: true))
    }

    static let todo = Todo(
        created: TodoCreated(
            todoID: 7,
            uid: "u",
            title: "t",
            description: "d",
            completed: true,
            deadline: try? Deadline(parsing: "2026-01-02"),
            at: Timestamp(microseconds: 5)
        )
    )

    /// Each statement's text is the same whatever its values (the `sql` PostgreSQL prepared is
    /// the one every execution binds to), and each name is the process's only one.
    @Test func eachStatementsTextDoesNotDependOnItsValues() {
        let cursor = GlobalCursor(txid: 987_654, position: 321)
        let todo = Self.todo
        let statements: [(String, String, String)] = [
            (LockStreamHead.name, LockStreamHead.sql, LockStreamHead.query(stream: 9).sql),
            (
                AppendEvents.name, AppendEvents.sql,
                AppendEvents.query(
                    stream: 9,
                    expectedVersion: 3,
                    newVersion: 5,
                    versions: [4, 5],
                    ids: [UUID(), UUID()],
                    types: ["A", "B"],
                    payloads: ["{}", "{}"],
                    trace: "{}"
                ).sql
            ),
            (LastTodoID.name, LastTodoID.sql, LastTodoID.query(user: 9).sql),
            (RaiseLastTodoID.name, RaiseLastTodoID.sql, RaiseLastTodoID.query(to: 4, user: 9).sql),
            (LoadTodos.name, LoadTodos.sql, LoadTodos.query(user: 9, ids: [1, 2, 3]).sql),
            (UpsertTodos.name, UpsertTodos.sql, UpsertTodos.query([todo, todo], user: 9).sql),
            (SaveCheckpoint.name, SaveCheckpoint.sql, SaveCheckpoint.query("relay", cursor).sql),
            (ReadLog.name, ReadLog.sql, ReadLog.query(after: cursor, limit: 500).sql),
        ]
        for (name, sql, built) in statements { #expect(sql == built, "\(name)") }
        #expect(Set(statements.map(\.0)).count == statements.count)
        #expect(statements.allSatisfy { $0.0.hasPrefix("almanac_") })
    }
}
