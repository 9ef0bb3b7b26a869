import Foundation
public import Logging
public import PostgresNIO
import Tracing

/// The event log on PostgreSQL: appends with optimistic concurrency, reads by stream and by
/// global (gap-safe) position.
public struct EventStore: Sendable {
    public let client: PostgresClient
    /// The connections that LISTEN (held for as long as the process runs): apart from `client`,
    /// so that requests never wait behind them.
    public let listenClient: PostgresClient
    public let logger: Logger
    /// Whether the statements of the write path, the projection batch and the log readers go as
    /// named prepared statements (`PostgresConnection.run(_:as:prepared:logger:)`); off behind a
    /// pooler that does not keep them per client.
    public let preparedStatements: Bool

    public init(
        client: PostgresClient,
        listenClient: PostgresClient? = nil,
        logger: Logger,
        preparedStatements: Bool = true
    ) {
        self.client = client
        self.listenClient = listenClient ?? client
        self.logger = logger
        self.preparedStatements = preparedStatements
    }

    /// Work to do inside the append's transaction after the events are inserted (an inline projection).
    public typealias InlineProjection =
        @Sendable (_ events: [RecordedEvent], _ connection: PostgresConnection) async throws -> Void

    /// Runs `body` in a transaction; an error thrown by `body` is rethrown as it is, so callers
    /// can catch `VersionConflict` and friends. Every statement, BEGIN and COMMIT included, fails
    /// with `ConnectionLost` instead of waiting forever when the server drops the connection; a
    /// lost COMMIT leaves the outcome unknown (the caller reports it as such).
    public func withTransaction<Result: Sendable>(
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await client.leased { connection in
            try await withTransaction(on: connection, body)
        }
    }

    /// Like `withTransaction(_:)`, with `body` run on the connection's event loop
    /// (`EventLoopExecutor`): each statement is written and its reply read on that thread, with
    /// no switch to the cooperative pool and back in between. For a request's short transaction
    /// (a command: `CommandExecutor`); nothing slow belongs in `body`, which holds up every
    /// channel of that loop while it computes.
    public func withTransactionOnConnectionLoop<Result: Sendable>(
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await client.leased { connection in
            try await withTaskExecutorPreference(CloseWatch.executor(of: connection)) {
                try await withTransaction(on: connection, body)
            }
        }
    }

    /// Runs `body` in a transaction on a connection the caller holds (one that keeps a session
    /// lock across several transactions); like `withTransaction(_:)` otherwise.
    nonisolated(nonsending) public func withTransaction<Result: Sendable>(
        on connection: PostgresConnection,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        do {
            try await connection.run("BEGIN", logger: logger)
            let result = try await body(connection)
            try await connection.run("COMMIT", logger: logger)
            return result
        } catch {
            await Self.abandon(connection, logger: logger)
            throw error
        }
    }

    /// Runs `body` on a pooled connection holding the session advisory lock `key`;
    /// without `wait`, returns nil at once when another session holds it. The lock is released
    /// before the connection goes back to the pool, or the connection is closed when that cannot
    /// be done (a cancelled caller, a lost connection), which releases it too.
    public func withSessionLock<Result: Sendable>(
        key: Int64,
        wait: Bool,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result? {
        try await Self.withSessionLock(client: client, key: key, wait: wait, logger: logger, body)
    }

    static func withSessionLock<Result: Sendable>(
        client: PostgresClient,
        key: Int64,
        wait: Bool,
        logger: Logger,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result? {
        try await client.leased { connection in
            if wait {
                try await connection.run("SELECT pg_advisory_lock(\(key))", logger: logger)
            } else {
                var locked = false
                for try await taken in try await connection.run(
                    "SELECT pg_try_advisory_lock(\(key))",
                    logger: logger
                ).decode(Bool.self) {
                    locked = taken
                }
                guard locked else { return nil }
            }
            do {
                let result = try await body(connection)
                try await connection.run("SELECT pg_advisory_unlock(\(key))", logger: logger)
                return result
            } catch {
                // The session lock (and a transaction left open) must not go back to the pool.
                var unlocked = false
                if !Task.isCancelled, !connection.isClosed {
                    unlocked =
                        (try? await connection.run("SELECT pg_advisory_unlock(\(key))", logger: logger))
                        != nil
                }
                if !unlocked { await discard(connection, logger: logger) }
                throw error
            }
        }
    }

    /// Ends a failed transaction before its connection goes back to the pool.
    ///
    /// A cancelled caller cannot send ROLLBACK (`run` refuses to start a statement once its task
    /// is cancelled) and may have left a statement in flight (`run` returns on cancellation
    /// without waiting for it), so its connection is closed instead: PostgreSQL rolls back the
    /// session's transaction and releases its locks when the in-flight statement ends, and the
    /// pool replaces the connection. Handing it back as it was left the transaction open, holding
    /// its row locks (a projector's checkpoint `FOR UPDATE`) until the process exited. Any other
    /// failure is rolled back on the connection; a ROLLBACK that fails closes it too.
    static func abandon(_ connection: PostgresConnection, logger: Logger) async {
        guard !connection.isClosed else { return }
        if !Task.isCancelled, (try? await connection.run("ROLLBACK", logger: logger)) != nil { return }
        await discard(connection, logger: logger)
    }

    /// Closes a connection whose session state (a transaction, a session lock) cannot be cleaned
    /// up, and waits until it is closed: the caller then hands it back to the pool, which replaces
    /// it. Handed back while still closing, it went to the next caller, whose statement failed
    /// with `ConnectionLost`.
    static func discard(_ connection: PostgresConnection, logger: Logger) async {
        logger.debug("closing a connection left in a transaction or holding a session lock")
        // A future ignores the caller's cancellation: the wait happens in a cancelled task too.
        try? await connection.close().get()
    }

    /// Appends `events` to `stream` in their own transaction.
    @discardableResult
    public func append(
        stream: Int64,
        expectedVersion: Int64,
        events: [NewEvent],
        inline: InlineProjection? = nil
    ) async throws -> [RecordedEvent] {
        let recorded = try await withTransaction { connection in
            try await append(
                stream: stream,
                expectedVersion: expectedVersion,
                events: events,
                on: connection,
                inline: inline
            )
        }
        StoreMetrics.appended(recorded.count)
        return recorded
    }

    /// Appends inside the caller's transaction. Throws `VersionConflict` when the stream is not at
    /// `expectedVersion`; versions stay contiguous 1...n. The caller counts the events in
    /// `StoreMetrics` once its transaction committed.
    public func append(
        stream: Int64,
        expectedVersion: Int64,
        events: [NewEvent],
        on connection: PostgresConnection,
        inline: InlineProjection? = nil
    ) async throws -> [RecordedEvent] {
        guard !events.isEmpty else { return [] }
        return try await withSpan("event_store.append") { span in
            span.attributes["db.system.name"] = "postgresql"
            span.attributes["almanac.stream_id"] = stream
            span.attributes["almanac.expected_version"] = expectedVersion
            span.attributes["almanac.event_count"] = events.count
            return try await append(
                stream: stream,
                expectedVersion: expectedVersion,
                events: events,
                traceContext: TraceCarrier.fields(of: span),
                on: connection,
                inline: inline
            )
        }
    }

    private func append(
        stream: Int64,
        expectedVersion: Int64,
        events: [NewEvent],
        traceContext: [String: String]?,
        on connection: PostgresConnection,
        inline: InlineProjection?
    ) async throws -> [RecordedEvent] {
        let newVersion = expectedVersion + Int64(events.count)
        let versions = (1...Int64(events.count)).map { expectedVersion + $0 }
        let ids = events.map(\.eventID)
        let types = events.map(\.type)
        let payloads = events.map { String(decoding: $0.data, as: UTF8.self) }
        let trace = traceContext.map(TraceCarrier.encode)
        if expectedVersion == 0 {
            // A stream's first append (a user's registration) makes its head row at version 0,
            // so that the statement below moves it like any other.
            try await connection.run(
                "INSERT INTO streams (stream_id, version) VALUES (\(stream), 0) ON CONFLICT DO NOTHING",
                logger: logger
            )
        }
        // One round trip (see `AppendEvents`); no row comes back when the head was elsewhere.
        let query = AppendEvents.query(
            stream: stream,
            expectedVersion: expectedVersion,
            newVersion: newVersion,
            versions: versions,
            ids: ids,
            types: types,
            payloads: payloads,
            trace: trace ?? ""
        )
        var recorded: [RecordedEvent] = []
        recorded.reserveCapacity(events.count)
        do {
            let rows = try await connection.run(
                query,
                as: AppendEvents.self,
                prepared: preparedStatements,
                logger: logger
            )
            for try await row in rows {
                recorded.append(try RecordedEvent(row: row))
            }
        } catch let error as PSQLError where error.sqlState == "23505" {
            throw VersionConflict(streamID: stream, expected: expectedVersion, actual: nil)
        }
        guard !recorded.isEmpty else {
            let actual = try await version(of: stream, on: connection)
            throw VersionConflict(streamID: stream, expected: expectedVersion, actual: actual)
        }
        recorded.sort { $0.version < $1.version }
        if let inline {
            try await inline(recorded, connection)
        }
        return recorded
    }

    /// The current version of `stream` (0 when it has no events).
    public func version(of stream: Int64, on connection: PostgresConnection, lock: Bool = false) async throws -> Int64 {
        let rows =
            lock
            ? try await connection.run(
                LockStreamHead.query(stream: stream),
                as: LockStreamHead.self,
                prepared: preparedStatements,
                logger: logger
            )
            : try await connection.run("SELECT version FROM streams WHERE stream_id = \(stream)", logger: logger)
                .map { $0 }
        for try await version in rows.decode(Int64.self) { return version }
        return 0
    }

    /// The current version of `stream` (0 when it has no events).
    public func version(of stream: Int64) async throws -> Int64 {
        try await client.leased { try await version(of: stream, on: $0) }
    }

    /// Events of `stream` with versions in `from...through`, in version order, read into memory.
    public func readStream(_ stream: Int64, from: Int64 = 1, through: Int64 = .max) async throws -> [RecordedEvent] {
        try await client.leased { try await readStream(stream, from: from, through: through, on: $0) }
    }

    /// Events of `stream` with versions in `from...through`, read inside the caller's transaction.
    public func readStream(_ stream: Int64, from: Int64, through: Int64, on connection: PostgresConnection) async throws
        -> [RecordedEvent]
    {
        var events: [RecordedEvent] = []
        let rows = try await connection.run(
            """
            SELECT \(unescaped: RecordedEvent.columns) FROM events
            WHERE stream_id = \(stream) AND version >= \(from) AND version <= \(through)
            ORDER BY version
            """,
            logger: logger
        )
        for try await row in rows { events.append(try RecordedEvent(row: row)) }
        return events
    }

    /// Events of `stream` in version order, streamed from the server (for rebuilds of large streams).
    public func streamEvents(_ stream: Int64, from: Int64 = 1, through: Int64 = .max) async throws
        -> AsyncThrowingMapSequence<PostgresRowSequence, RecordedEvent>
    {
        // Streamed, so not through `PostgresClient.run` (which reads whole): a lost statement
        // here waits like `PostgresClient.query` does; rebuilds run from the CLI, not requests.
        try await client.query(
            """
            SELECT \(unescaped: RecordedEvent.columns) FROM events
            WHERE stream_id = \(stream) AND version >= \(from) AND version <= \(through)
            ORDER BY version
            """,
            logger: logger
        ).map { try RecordedEvent(row: $0) }
    }

    /// The events of `stream` through `through` as a fold needs them (version, type, payload),
    /// in version order, streamed inside the caller's transaction (folds of large streams never
    /// hold them all). Only those three columns: a fold has no use for the rest of a
    /// `RecordedEvent` (transaction id, event id, time, trace context), which cost the server and
    /// the decoder work per event.
    public func streamEventPayloads(_ stream: Int64, through: Int64 = .max, on connection: PostgresConnection)
        async throws -> AsyncThrowingMapSequence<PostgresRowSequence, EventPayload>
    {
        try await connection.run(
            """
            SELECT version, type, data::text FROM events
            WHERE stream_id = \(stream) AND version <= \(through)
            ORDER BY version
            """,
            logger: logger
        ).map { row in
            let (version, type, data) = try row.decode((Int64, String, String).self)
            return EventPayload(version: version, type: type, data: Array(data.utf8))
        }
    }

    /// The open transaction that took a transaction id longest ago (what holds the gap-safe
    /// horizon back), with its age in seconds and its server process id; nil when none.
    public func oldestWritingTransaction() async throws -> (ageSeconds: Double, pid: Int32)? {
        let rows = try await client.run(
            """
            SELECT extract(epoch FROM now() - xact_start)::float8, pid FROM pg_stat_activity
            WHERE backend_xid IS NOT NULL ORDER BY xact_start LIMIT 1
            """,
            logger: logger
        ).decode((Double, Int32).self)
        for try await (age, pid) in rows { return (age, pid) }
        return nil
    }

    /// How long the gap-safe readers have been held back: when committed events wait at or above
    /// the snapshot horizon (`pg_snapshot_xmin`), the age in seconds of the oldest open
    /// transaction that took a transaction id (it holds the horizon); 0 otherwise.
    public func horizonHeldBackSeconds() async throws -> Double {
        try await client.leased { connection in
            let rows = try await connection.run(
                """
                SELECT coalesce(max(extract(epoch FROM now() - xact_start)), 0)::float8 FROM pg_stat_activity
                WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
                  AND EXISTS (SELECT 1 FROM events WHERE txid >= pg_snapshot_xmin(pg_current_snapshot()))
                """,
                logger: logger
            ).decode(Double.self)
            for try await seconds in rows { return max(0, seconds) }
            return 0
        }
    }

    /// Whether any committed event lies after `cursor`, visible or still behind the horizon.
    public func hasEvents(after cursor: GlobalCursor) async throws -> Bool {
        let rows = try await client.run(
            "SELECT EXISTS (SELECT 1 FROM events WHERE (txid, position) > (\(String(cursor.txid))::xid8, \(cursor.position)))",
            logger: logger
        ).decode(Bool.self)
        for try await exists in rows { return exists }
        return false
    }

    /// Up to `limit` events after `cursor` in the global log, never skipping one.
    ///
    /// Only rows whose transaction is below the snapshot's xmin are returned: every transaction
    /// below that horizon has finished, so no row can later appear before the returned ones.
    /// The ORDER BY names the table's columns: a bare `txid` would bind to the `txid::text`
    /// output column and sort transaction ids as strings ("10" < "9").
    public func readAll(after cursor: GlobalCursor, limit: Int, on connection: PostgresConnection? = nil) async throws
        -> [RecordedEvent]
    {
        let query = ReadLog.query(after: cursor, limit: Int64(limit))
        func run(_ connection: PostgresConnection) async throws -> [RecordedEvent] {
            var events: [RecordedEvent] = []
            let rows = try await connection.run(query, as: ReadLog.self, prepared: preparedStatements, logger: logger)
            for try await row in rows {
                events.append(try RecordedEvent(row: row))
            }
            return events
        }
        if let connection { return try await run(connection) }
        return try await client.leased { try await run($0) }
    }
}

extension PSQLError {
    /// The SQLSTATE the server sent, e.g. `23505` for a unique violation.
    public var sqlState: String? { serverInfo?[.sqlState] }
}

/// The head of a stream locked for a command (every command's first statement).
enum LockStreamHead: NamedStatement {
    static let name = "almanac_lock_stream_head"
    static let sql = query(stream: 0).sql

    static func query(stream: Int64) -> PostgresQuery {
        "SELECT version FROM streams WHERE stream_id = \(stream) FOR UPDATE"
    }
}

/// An append in one round trip: the head moves from the expected version, the events go in only
/// if it did, and the tailers are notified (NOTIFY is delivered at commit, not at all if the
/// transaction rolls back). When the head is not at the expected version nothing is inserted and
/// no row comes back; the NOTIFY may still have run, so a caller that catches the
/// `VersionConflict` must roll back (every caller does: the conflict ends its transaction).
enum AppendEvents: NamedStatement {
    static let name = "almanac_append_events"
    static let sql = query(
        stream: 0,
        expectedVersion: 0,
        newVersion: 0,
        versions: [],
        ids: [],
        types: [],
        payloads: [],
        trace: ""
    ).sql

    static func query(
        stream: Int64,
        expectedVersion: Int64,
        newVersion: Int64,
        versions: [Int64],
        ids: [UUID],
        types: [String],
        payloads: [String],
        trace: String
    ) -> PostgresQuery {
        """
        WITH head AS (
            UPDATE streams SET version = \(newVersion)
            WHERE stream_id = \(stream) AND version = \(expectedVersion)
            RETURNING version),
        inserted AS (
            INSERT INTO events (stream_id, version, event_id, type, data, trace_context)
            SELECT \(stream), v, e, t, d::jsonb, NULLIF(\(trace), '')::jsonb
            FROM unnest(\(versions)::int8[], \(ids)::uuid[], \(types)::text[], \(payloads)::text[]) AS x(v, e, t, d)
            WHERE EXISTS (SELECT 1 FROM head)
            RETURNING *),
        notified AS MATERIALIZED (SELECT pg_notify(\(Channels.events), \(String(stream))))
        SELECT \(unescaped: RecordedEvent.columns) FROM inserted CROSS JOIN notified
        """
    }
}

/// A page of the global log after a cursor, below the snapshot's horizon (`readAll`).
enum ReadLog: NamedStatement {
    static let name = "almanac_read_log"
    static let sql = query(after: GlobalCursor(txid: 0, position: 0), limit: 0).sql

    static func query(after cursor: GlobalCursor, limit: Int64) -> PostgresQuery {
        """
        SELECT \(unescaped: RecordedEvent.columns) FROM events
        WHERE (txid, position) > (\(String(cursor.txid))::xid8, \(cursor.position))
          AND txid < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY events.txid, events.position
        LIMIT \(limit)
        """
    }
}
