import AlmanacTestSupport
import Domain
import Foundation
import Logging
import PostgresNIO
import Testing

@testable import EventStore

/// The write path's statements as named prepared statements (`PostgresConnection.run(_:as:prepared:logger:)`).
@Suite("Named statements")
struct NamedStatementTests {
    static let writeNames: Set<String> = [LockStreamHead.name, AppendEvents.name]

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
            try await store.append(
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
        }
    }

    @Test func withoutPreparedStatementsNothingIsPrepared() async throws {
        try await TestDatabase.withStore(poolSize: 1) { prepared in
            let store = EventStore(client: prepared.client, logger: prepared.logger, preparedStatements: false)
            for _ in 0..<3 { try await Self.command(store, stream: 5) }
            #expect(try await store.version(of: 5) == 3)
            #expect(try await Self.preparedNames(store).isDisjoint(with: Self.writeNames))
        }
    }

    /// A named statement's parameter types are those of its first execution on a connection: the
    /// trace context binds as text whether or not there is one, so an append with one after an
    /// append without (and the other way round) stores it as sent.
    @Test func aTraceContextIsStoredWhateverTheFirstAppendOnTheConnectionCarried() async throws {
        try await TestDatabase.withStore(poolSize: 1) { store in
            let trace = #"{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}"#
            for (stream, traces) in [(Int64(1), ["", trace]), (2, [trace, ""])] {
                try await store.withTransaction { connection in
                    try await connection.run(
                        "INSERT INTO streams (stream_id, version) VALUES (\(stream), 0)",
                        logger: store.logger
                    )
                }
                for (index, trace) in traces.enumerated() {
                    try await store.withTransaction { connection in
                        let version = Int64(index)
                        let rows = try await connection.run(
                            AppendEvents.query(
                                stream: stream,
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
                    "SELECT coalesce(trace_context::text, '') FROM events WHERE stream_id = \(stream) ORDER BY version",
                    logger: store.logger
                )
                var stored: [String] = []
                for try await text in rows.decode(String.self) { stored.append(text) }
                #expect(stored == traces, "stream \(stream)")
            }
        }
    }

    /// PostgresNIO keeps a failed preparation's error for the name on that connection and fails
    /// every later execution with it: the connection whose first execution failed is closed, so
    /// the pool's next one prepares the statement afresh.
    @Test func aFailedPreparationDoesNotBreakTheStatementForLaterCommands() async throws {
        try await TestDatabase.withStore(poolSize: 1) { store in
            await #expect(throws: PSQLError.self) {
                try await store.withTransaction { connection in
                    // An aborted transaction: PostgreSQL refuses to parse anything in it.
                    _ = try? await connection.run("SELECT 1 / 0", logger: store.logger)
                    _ = try await store.version(of: 1, on: connection, lock: true)
                }
            }
            try await Self.command(store, stream: 1)
            try await Self.command(store, stream: 1)
            #expect(try await store.version(of: 1) == 2)
        }
    }
}
